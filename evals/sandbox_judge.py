"""The canary judge end to end on the sandbox: near-threshold versions of checkout-api over many seeds.

    python evals/sandbox_judge.py            # 40 seeds per version
    python evals/sandbox_judge.py --seeds 5

Each run re-seeds the sandbox (`sandbox.seed`), deploys from 1.2.2 (~0.9% errors, p99 180 ms) to one
version, and approves 30 virtual minutes after the request unless the canary is judged unhealthy first;
the judge keeps judging through the wait. 1.2.6 (as good as 1.2.2) must succeed; 1.2.7 (2x errors),
1.2.8 (2x p99) and 1.2.9 (fine for 10 minutes, then 5x errors) must fail. Targets: >= 39 of 40 each.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.skills.sandbox_deploys import NEAR_THRESHOLD, JudgedRun, deploy_approved_after  # noqa: E402

TARGET = 39


def _one(args: tuple[str, int, str, float]) -> JudgedRun:
    version, seed, root, wait = args
    return deploy_approved_after(Path(root) / f"{version}-{seed}", version, seed, wait)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=40)
    parser.add_argument("--wait-minutes", type=float, default=30.0)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="runbook-sandbox-judge-") as root:
        work = [(version, seed, root, args.wait_minutes) for version in NEAR_THRESHOLD
                for seed in range(1, args.seeds + 1)]
        with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            runs = list(pool.map(_one, work))
    print(f"Sandbox canary judge: {args.seeds} seeds per version, approval after {args.wait_minutes:g} virtual"
          f" minutes, from 1.2.2 (~0.9% errors, p99 180ms).\n")
    print(f"  {'version':<8}{'behaves':<26}{'expected':<11}{'as expected':>12}   how it ended")
    headline = []
    ok_all = True
    for version, behaves in NEAR_THRESHOLD.items():
        mine = [r for r in runs if r.version == version]
        healthy = behaves == "healthy"
        good = [r for r in mine if (r.exit_code == 0) is healthy]
        how = Counter(("succeeded" if r.exit_code == 0 else f"exit {r.exit_code} in the {r.ended_in}") +
                      (" (override)" if r.override else "") for r in mine)
        caught = [r.minutes_to_unhealthy for r in mine if r.minutes_to_unhealthy is not None]
        shown = [r.minutes_to_healthy for r in mine if r.minutes_to_healthy is not None]
        detail = ", ".join(f"{n} {what}" for what, n in how.most_common())
        if caught:
            detail += f"; judged unhealthy after a median {statistics.median(caught):.1f} min"
        if shown:
            detail += f"; {len(shown)} judged healthy, after a median {statistics.median(shown):.1f} min"
        print(f"  {version:<8}{behaves:<26}{'success' if healthy else 'failure':<11}"
              f"{len(good):>6} of {len(mine):<3}   {detail}")
        verb = "succeeded" if healthy else "failed"
        headline.append(f"{version} {verb} {len(good)}/{len(mine)}")
        ok_all &= len(good) >= round(TARGET * len(mine) / 40)
    unexpected = [r for r in runs if (r.exit_code == 0) is not (NEAR_THRESHOLD[r.version] == "healthy")]
    if unexpected:
        print("\n  Not as expected:")
    for r in unexpected:
        print(f"    {r.version} seed {r.seed}: exit {r.exit_code} in the {r.ended_in or 'end'}"
              f" ({'; '.join(r.observations[:2])})")
    print(f"\n({time.monotonic() - started:.0f}s)")
    print("sandbox judge: " + ", ".join(headline))
    return 0 if ok_all else 1


if __name__ == "__main__":
    raise SystemExit(main())
