"""Benchmark: start-up of the everyday commands, and a full sandbox deploy on instant time.

    .venv/bin/python evals/bench_cli.py [--runs N]

Each figure is the median over N fresh processes, with its ratio to `python -c pass` measured in the
same run (these machines are shared and noisy: the ratio travels better than the seconds). The deploy
includes a real approval: a colleague's `runbook approve --wait` in a second process, through the same
gate a person uses; its peak RSS is the deploy process's own (recall runs in a forked child of its own).
Targets (issue 9): status and history <= 0.35 s, the deploy <= 2.0 s and <= 250 MiB.
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


def timed(argv: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """(wall seconds, peak RSS in MiB) of one process, which must exit with one of the `ok` codes."""
    started = time.perf_counter()
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode not in ok:
        raise SystemExit(f"{' '.join(argv[3:])} exited {process.returncode}")
    return elapsed, usage.ru_maxrss / 1024


def bench(argv: list[str], runs: int, cwd: Path, env: dict[str, str],
          ok: tuple[int, ...] = (0,)) -> list[tuple[float, float]]:
    timed(argv, cwd, env, ok)  # warm the page cache and the state
    return [timed(argv, cwd, env, ok) for _ in range(runs)]


def bench_deploy(runs: int, env: dict[str, str]) -> list[tuple[float, float]]:
    results = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            cwd = Path(tmp)
            subprocess.run(RUNBOOK + ["sandbox", "reset"], cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
            approver = subprocess.Popen(
                RUNBOOK + ["approve", "--service", "checkout-api", "--environment", "production", "--wait", "60"],
                cwd=cwd, env=env | {"RUNBOOK_USER": "alice"}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            results.append(timed(RUNBOOK + ["deploy", "checkout-api", "--version", "1.2.3", "--environment",
                                            "production", "--output", "plain"], cwd, env))
            approver.wait(timeout=60)
    return results


def report(name: str, results: list[tuple[float, float]], yardstick: float, target: str) -> None:
    seconds = statistics.median(t for t, _ in results)
    rss = statistics.median(m for _, m in results)
    print(f"{name:<28} median {seconds:.3f} s = {seconds / yardstick:5.1f}x python -c pass, peak RSS {rss:.0f} MiB"
          f"  (n={len(results)}; target {target})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env = os.environ | {"RUNBOOK_TIME_SCALE": "0", "RUNBOOK_USER": "bench", "NO_COLOR": "1"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        pass_ = bench([sys.executable, "-c", "pass"], args.runs, cwd, env)
        yardstick = statistics.median(t for t, _ in pass_)
        subprocess.run(RUNBOOK + ["sandbox", "reset"], cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run(RUNBOOK + ["deploy", "checkout-api", "--version", "1.2.3", "--dry-run"], cwd=cwd, env=env,
                       check=True, stdout=subprocess.DEVNULL)
        report("python -c pass", pass_, yardstick, "the yardstick")
        report("runbook --help", bench(RUNBOOK + ["--help"], args.runs, cwd, env), yardstick, "<= 5x")
        # exit 10: a service is not healthy (the sandbox's payments-api has a firing alarm by design)
        report("runbook status", bench(RUNBOOK + ["status"], args.runs, cwd, env, ok=(0, 10)), yardstick, "<= 0.35 s")
        report("runbook history", bench(RUNBOOK + ["history"], args.runs, cwd, env), yardstick, "<= 0.35 s")
    report("full sandbox deploy", bench_deploy(args.runs, env), yardstick, "<= 2.0 s, <= 250 MiB")


if __name__ == "__main__":
    main()
