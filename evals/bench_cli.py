"""Benchmark: `runbook --help` wall time, and a full sandbox deploy on instant time.

    .venv/bin/python evals/bench_cli.py [--runs N]

Each figure is the median over N fresh processes. The deploy includes a real approval: a
colleague's `runbook approve --wait` in a second process, through the same gate a person uses.
"deploy" runs after `runbook sandbox reset` (which also builds the recall index, as a user's
state directory has it); "first deploy" runs in an empty directory, so it seeds the sandbox and
indexes the knowledge examples itself. Targets (issue 2): --help <= 0.3 s, full deploy <= 3 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNBOOK = [sys.executable, "-c", "from agent.cli import main; main()"]


def _timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def bench_help(runs: int, env: dict[str, str]) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        return [_timed(RUNBOOK + ["--help"], Path(tmp), env) for _ in range(runs)]


def bench_deploy(runs: int, env: dict[str, str], reset_first: bool) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            cwd = Path(tmp)
            if reset_first:
                subprocess.run(RUNBOOK + ["sandbox", "reset"], cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
            approver = subprocess.Popen(
                RUNBOOK + ["approve", "--service", "checkout-api", "--environment", "production", "--wait", "60"],
                cwd=cwd, env=env | {"RUNBOOK_USER": "alice"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            times.append(_timed(RUNBOOK + ["deploy", "checkout-api", "--version", "1.2.3", "--environment",
                                           "production", "--output", "plain"], cwd, env))
            approver.wait(timeout=60)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env = os.environ | {"RUNBOOK_TIME_SCALE": "0", "RUNBOOK_USER": "bench", "NO_COLOR": "1"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    help_times = bench_help(args.runs, env)
    deploy_times = bench_deploy(args.runs, env, reset_first=True)
    first_times = bench_deploy(args.runs, env, reset_first=False)
    for name, times, target in (("runbook --help", help_times, 0.3), ("full sandbox deploy", deploy_times, 3.0),
                                ("first deploy (cold)", first_times, 3.0)):
        median = statistics.median(times)
        verdict = "ok" if median <= target else "over target"
        print(f"{name:<22} median {median:.3f} s  (min {min(times):.3f}, max {max(times):.3f}, n={len(times)})"
              f"  target <= {target} s: {verdict}")


if __name__ == "__main__":
    main()
