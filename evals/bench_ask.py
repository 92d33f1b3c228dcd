"""Benchmark the start of `runbook`: cold wall time of fresh processes, medians, each beside the median of
`python -c pass` measured in the same run (interleaved), so a busy machine shows as a high baseline.

    .venv/bin/python evals/bench_ask.py [--runs N]

Each command's CPU time (user + system, of the process and its children) is printed too: on a machine
shared with other work it moves far less than wall time does.

Measured: `python -c pass`; `runbook --help` (target <= 5x python -c pass); `runbook ask` on the sandbox
with the offline router for a status question (target <= 1.0 s) and an investigate question, which also
recalls similar incidents in a forked child (target <= 1.2 s); and the model calls per single-tool
question from the cassettes (target <= 2).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
CASSETTES = ROOT / "tests" / "agent" / "ask" / "cassettes"
RUNBOOK = [sys.executable, "-c", "from agent.cli import main; main()"]
COMMANDS = {  # name: (argv, target seconds, or a multiple of python -c pass)
    "python -c pass": ([sys.executable, "-c", "pass"], None),
    "runbook --help": (RUNBOOK + ["--help"], "5x"),
    "ask: status": (RUNBOOK + ["ask", "is checkout-api healthy?"], 1.0),
    # the payments-api alarm makes the investigation look up similar incidents
    "ask: investigate": (RUNBOOK + ["ask", "Show errors for payments-api last 10 minutes"], 1.2),
}


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cold_seconds(runs: int) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"} | {"NO_COLOR": "1"}
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    cpu: dict[str, list[float]] = {name: [] for name in COMMANDS}
    with tempfile.TemporaryDirectory() as tmp:
        def run(argv: list[str]) -> str:
            return subprocess.run(argv, cwd=tmp, env=env, capture_output=True, check=True, text=True).stdout

        subprocess.run(RUNBOOK + ["sandbox", "reset"], cwd=tmp, env=env, capture_output=True, check=True)
        run(COMMANDS["ask: investigate"][0])  # warms the OS file cache, as any second run of a command is
        for _ in range(runs):
            for name, (argv, _target) in COMMANDS.items():
                start, used = time.perf_counter(), _cpu()
                out = run(argv)
                times[name].append(time.perf_counter() - start)
                cpu[name].append(_cpu() - used)
                if name == "ask: investigate" and "not available" in out:
                    print(f"  (a run answered without recall: {[line for line in out.splitlines() if 'not available' in line][:1]})")
    return times, cpu


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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    times, cpu = cold_seconds(args.runs)
    base = statistics.median(times["python -c pass"])
    ok = True
    for name, (_argv, target) in COMMANDS.items():
        median = statistics.median(times[name])
        line = (f"{name:<18} median {median:.3f} s = {median / base:5.1f}x python -c pass"
                f"  (min {min(times[name]):.3f}, max {max(times[name]):.3f}, n={len(times[name])};"
                f" CPU {statistics.median(cpu[name]):.3f} s)")
        if isinstance(target, str):
            limit = float(target.rstrip("x")) * base
            line += f"; target <= {target} ({limit:.3f} s): {'ok' if median <= limit else 'OVER'}"
            ok &= median <= limit
        elif target is not None:
            line += f"; target <= {target} s: {'ok' if median <= target else 'OVER'}"
            ok &= median <= target
        print(line)
    for name, count in model_calls_per_single_tool_question().items():
        print(f"model calls for a single-tool question ({name} cassette): {count}; target <= 2")
        ok &= count <= 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
