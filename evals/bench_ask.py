"""Benchmark `runbook ask`: cold wall time on the sandbox with the offline router (subprocess runs,
median; target <= 1.5 s), and model calls per single-tool question from the cassettes (target <= 2)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CASSETTES = ROOT / "tests" / "agent" / "ask" / "cassettes"
RUNS = 7


def cold_ask_seconds() -> list[float]:
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"} | {"NO_COLOR": "1"}
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        argv = [sys.executable, "-c", "from agent.cli import main; main()", "ask",
                "Show errors for checkout-api last 10 minutes"]
        subprocess.run(argv, cwd=tmp, env=env, capture_output=True, check=True)  # seeds the sandbox once
        for _ in range(RUNS):
            start = time.perf_counter()
            subprocess.run(argv, cwd=tmp, env=env, capture_output=True, check=True)
            times.append(time.perf_counter() - start)
    return times


def model_calls_per_single_tool_question() -> dict[str, int]:
    """Cassettes whose conversation uses one tool: how many model calls answered the question."""
    found = {}
    for path in sorted(CASSETTES.glob("*.yaml")):
        interactions = yaml.safe_load(path.read_text())["interactions"]
        tools = sum('"tool_use"' in i["response"]["body"]["string"] for i in interactions)
        if tools == 1 and all(i["response"]["status"]["code"] == 200 for i in interactions):
            found[path.stem] = len(interactions)
    return found


def main() -> int:
    times = cold_ask_seconds()
    median = statistics.median(times)
    print(f"runbook ask (offline router, sandbox), cold: median {median:.2f} s over {RUNS} runs"
          f" (min {min(times):.2f}, max {max(times):.2f}); target <= 1.5 s")
    calls = model_calls_per_single_tool_question()
    for name, count in calls.items():
        print(f"model calls for a single-tool question ({name} cassette): {count}; target <= 2")
    ok = median <= 1.5 and all(c <= 2 for c in calls.values())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
