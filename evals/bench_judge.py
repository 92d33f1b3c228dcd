"""The canary judge against today's Wilson judge, the seed's fixed rule and Wald's SPRT, on the same traffic.

    python evals/bench_judge.py --quick     # ~2,000 runs per cell, well under a minute
    python evals/bench_judge.py --full      # 10,000 runs per cell

Traffic and judges: see `evals/judge_sim.py`. Every cell of one row comes from the same simulated
canaries. The last line is the headline:

    judge: false-rollback max X% at any stopping time, power 0.5->1% in 30 min Y%, time-to-detect Z x SPRT

X: the highest false-rollback rate of the new judge over the three baselines and the four stopping
times (a rate by a later time includes every earlier rollback, so this is the worst stopping time).
Y: the share of 0.5 % -> 1 % canaries the new judge calls unhealthy within 60 s + 30 min.
Z: the new judge's mean time to "unhealthy" for 0.5 % -> 1 % over a 3-hour horizon (where nearly every
run gets there), divided by the mean stopping time of the SPRT that knows the stable's true rate and
runs at the same α as the judge's error statement (β = 5 %).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from judge_sim import POINT_SECONDS, Result, Scenario, simulate  # noqa: E402

from skills.deploy import sequential as seq  # noqa: E402

JUDGES = ("new", "wilson", "seed", "sprt")
STOPS = ((60, "after 60 s"), (180, "60 s + 2 min wait"), (660, "60 s + 10 min wait"), (1860, "60 s + 30 min wait"))
BASELINES = (0.001, 0.005, 0.009)
ERROR_REGRESSIONS = (0.01, 0.015, 0.025, 0.05)
P99_REGRESSIONS = (300.0, 600.0, 2300.0)
HORIZON_SECONDS = 1860


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _secs(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}s" if value < 120 else f"{value / 60:.1f}m"


def _row(label: str, cells: list[str], width: int = 34) -> str:
    return f"  {label:<{width}}" + "".join(f"{c:>10}" for c in cells)


def _rates(result: Result, seconds: float) -> list[str]:
    return [_pct(result.rate_by(judge, seconds)) for judge in JUDGES]


def _means(result: Result) -> list[str]:
    return [_secs(_mean_within(result, judge)) for judge in JUDGES]


def _mean_within(result: Result, judge: str) -> float | None:
    first = getattr(result, f"{judge}_unhealthy")
    hit = first[(first > 0) & (first * POINT_SECONDS <= HORIZON_SECONDS)]
    return None if not len(hit) else float(hit.mean() * POINT_SECONDS)


def _median(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return None if not len(finite) else float(np.median(finite))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="about 2,000 runs per cell (default)")
    mode.add_argument("--full", action="store_true", help="10,000 runs per cell")
    parser.add_argument("--runs", type=int, help="runs per cell (overrides --quick/--full)")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=20260101)
    args = parser.parse_args(argv)
    runs = args.runs or (10_000 if args.full else 2_000)
    long_runs = max(runs // 2, 500)
    started = time.monotonic()
    alpha = args.alpha
    error_alpha = alpha * seq.DECISION_SHARES["canary"] * seq.ALPHA_SHARES["errors_worse"]

    print(f"Canary judge benchmark: {runs:,} runs per cell, alpha = {alpha:g} for the deploy"
          f" ({seq.DECISION_SHARES['canary']:g} of it for the canary; its error statement {error_alpha:g}).")
    print("Traffic per 10 s point: canary Poisson(20) and stable Poisson(180) requests, binomial errors,")
    print("lognormal latency (sigma 0.6). SPRT: the canary against the stable's true rate, p0 vs 2 p0.\n")
    print(_row("", list(JUDGES)))

    worst = 0.0
    print("False rollbacks, healthy canary (canary = stable)")
    for index, baseline in enumerate(BASELINES):
        result = simulate(Scenario(f"healthy {baseline:.1%}", baseline, baseline), runs, alpha, args.seed + index)
        for seconds, label in STOPS:
            prefix = f"{100 * baseline:g}% errors" if seconds == 60 else ""
            print(_row(f"{prefix:<12}{label}", _rates(result, seconds)))
            worst = max(worst, result.rate_by("new", seconds))

    power = 0.0
    print("\nError regressions from 0.5%: caught by 60 s / by 60 s + 30 min / mean time to catch")
    for index, rate in enumerate(ERROR_REGRESSIONS):
        result = simulate(Scenario(f"errors {rate:.1%}", 0.005, rate), runs, alpha, args.seed + 10 + index)
        name = f"0.5% -> {100 * rate:g}%"
        print(_row(f"{name:<12}caught by 60 s", _rates(result, 60)))
        print(_row(f"{'':<12}caught by 30 min", _rates(result, HORIZON_SECONDS)))
        print(_row(f"{'':<12}mean time to catch", _means(result)))
        if rate == 0.01:
            power = result.rate_by("new", HORIZON_SECONDS)

    print("\nLatency regressions from p99 150 ms")
    for index, p99 in enumerate(P99_REGRESSIONS):
        result = simulate(Scenario(f"p99 {p99:g}", 0.005, 0.005, canary_p99=p99), runs, alpha, args.seed + 20 + index)
        name = f"-> {p99:,.0f} ms"
        print(_row(f"{name:<12}caught by 60 s", _rates(result, 60)))
        print(_row(f"{'':<12}caught by 30 min", _rates(result, HORIZON_SECONDS)))
        print(_row(f"{'':<12}mean time to catch", _means(result)))

    print("\nLate degradation: healthy for 10 min, then 5x the errors (0.5% -> 2.5%)")
    late = simulate(Scenario("late", 0.005, 0.025, late_after_points=60), runs, alpha, args.seed + 30)
    print(_row(f"{'':<12}caught by 30 min", _rates(late, HORIZON_SECONDS)))
    print(_row(f"{'':<12}mean time to catch", _means(late)))

    # Long horizon, errors only: time-to-detect against the SPRT, and "N more requests" predicted vs realised.
    regression = simulate(Scenario("long 1%", 0.005, 0.01, minutes=180), long_runs, alpha, args.seed + 40,
                          with_latency=False)
    healthy = simulate(Scenario("long healthy", 0.005, 0.005, minutes=180), long_runs, alpha, args.seed + 41,
                       with_latency=False)
    judge_mean = regression.mean_seconds("new")
    stops = regression.sprt_stop[regression.sprt_stop > 0]
    sprt_mean = float(stops.mean() * POINT_SECONDS) if len(stops) else None
    ratio = judge_mean / sprt_mean if judge_mean and sprt_mean else float("nan")
    print(f"\nTime to detect 0.5% -> 1% (3 h horizon, {long_runs:,} runs): new judge {_secs(judge_mean)}"
          f" ({100 * np.mean(regression.new_unhealthy > 0):.1f}% caught), SPRT at alpha {error_alpha:g},"
          f" beta 0.05, baseline known: {_secs(sprt_mean)} -> {ratio:.2f}x")

    # The information limit: the best test that *knows* the stable's rate, at alpha = beta = 5% for this
    # one statement alone (the new judge shares alpha among its statements and cannot know the rate).
    limit = simulate(Scenario("limit", 0.005, 0.01), runs,
                     0.05 / seq.ALPHA_SHARES["errors_worse"] / seq.DECISION_SHARES["canary"], args.seed + 42,
                     with_latency=False)
    print(f"Information limit: Wald's SPRT knowing the stable's rate, alpha = beta = 5%, catches 0.5% -> 1% within"
          f" 30 min in {100 * limit.rate_by('sprt', HORIZON_SECONDS):.1f}% of runs")

    print('\n"About N more canary requests" at 60 s, median over runs (predicted / realised):')
    six = 60 // POINT_SECONDS
    for label, result, side, first in (("0.5% -> 1%, until unhealthy", regression, "worse", regression.new_unhealthy),
                                       ("0.5% healthy, until healthy", healthy, "fine", healthy.new_healthy)):
        predicted = np.array([np.nan if v is None else v for v in result.predicted_at_60s[side]], dtype=float)
        realised = result.requests_until(first) - result.canary_requests[:, six - 1]
        realised[first <= six] = np.nan
        print(f"  {label:<34}{_median(predicted) or 0:>10,.0f}{_median(realised) or 0:>10,.0f}"
              f"   (reached within 3 h: {100 * np.mean(first > 0):.1f}%)")

    print(f"\n({time.monotonic() - started:.0f}s)")
    print(f"judge: false-rollback max {100 * worst:.1f}% at any stopping time, power 0.5->1% in 30 min"
          f" {100 * power:.0f}%, time-to-detect {ratio:.2f} x SPRT")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
