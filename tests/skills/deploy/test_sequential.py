"""The anytime-valid tests behind the canary judge: validity under their nulls (seeded simulations),
power against the regressions they are built for, and the bookkeeping (JSON, latching, predictions).

Simulations run vectorised over runs with numpy through the module's `Ops`, the same code the deploy
runs on floats; a test of the float path checks that both agree.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from skills.deploy import sequential as seq

NUMPY = seq.Ops(np.log, np.exp, np.logaddexp, np.clip)


def _share_runs(runs: int, points: int, canary_rate: float, stable_rate: float, seed: int,
                grid: seq.Grid = seq.ERROR_GRID, change_at: int | None = None) -> list[seq.ShareEvidence]:
    """`runs` canaries (Poisson(20) canary, Poisson(180) stable requests per point), one evidence per point."""
    rng = np.random.default_rng(seed)
    ev = seq.ShareEvidence(grid)
    history = []
    for b in range(points):
        rate = stable_rate if change_at is not None and b < change_at else canary_rate
        n_c, n_s = rng.poisson(20, runs), rng.poisson(180, runs)
        ev.add(n_c, rng.binomial(n_c, rate), n_s, rng.binomial(n_s, stable_rate), NUMPY)
        history.append({"worse": ev.log_worse(NUMPY), "fine": ev.log_fine(NUMPY), "change": ev.log_change(NUMPY)})
    return history  # type: ignore[return-value]


def _ever(history: list[dict[str, np.ndarray]], key: str, level: float) -> np.ndarray:
    return np.any(np.array([h[key] for h in history]) >= level, axis=0)


def test_no_evidence_without_events_or_at_r_equal_one() -> None:
    assert seq.share_log_lr(0, 0, 0.1, 2.0) == 0.0
    assert seq.share_log_lr(3, 5, 0.1, 1.0) == 0.0
    assert seq.share_log_lr(3, 5, 0.1, 2.0) > 0 > seq.share_log_lr(0, 5, 0.1, 2.0)


def test_worse_mixture_is_valid_at_any_stopping_time_when_the_canary_is_no_worse() -> None:
    alpha = 0.1
    for rate in (0.005, 0.02):
        history = _share_runs(4000, 120, rate, rate, seed=1)
        ever = _ever(history, "worse", math.log(1 / alpha))
        assert ever.mean() <= alpha  # Ville: P(ever >= 1/alpha) <= alpha
        # a supermartingale: its mean stays below 1 (capped, since rare runs carry huge values)
        assert max(float(np.minimum(np.exp(h["worse"]), 100).mean()) for h in history[::10]) <= 1.0


def test_a_better_canary_is_even_less_likely_to_fail() -> None:
    same = _ever(_share_runs(3000, 120, 0.01, 0.01, seed=2), "worse", math.log(10)).mean()
    better = _ever(_share_runs(3000, 120, 0.005, 0.01, seed=2), "worse", math.log(10)).mean()
    assert better < same


def test_worse_mixture_catches_a_doubled_error_rate() -> None:
    history = _share_runs(2000, 186, 0.02, 0.01, seed=3)
    assert _ever(history, "worse", math.log(1 / 0.025)).mean() > 0.95


def test_an_outage_on_both_versions_does_not_move_the_share() -> None:
    # 20 % errors on both: the share of errors stays q, and the evidence stays near its null behaviour.
    history = _share_runs(2000, 60, 0.2, 0.2, seed=4)
    assert _ever(history, "worse", math.log(1 / 0.05)).mean() <= 0.05


def test_fine_mirror_is_valid_when_the_canary_is_r_max_times_worse() -> None:
    history = _share_runs(4000, 186, 0.02, 0.01, seed=5)
    assert _ever(history, "fine", math.log(1 / 0.1)).mean() <= 0.1
    healthy = _share_runs(2000, 186, 0.01, 0.01, seed=6)
    assert _ever(healthy, "fine", math.log(1 / 0.1)).mean() > 0.8


def test_change_detector_holds_its_budget_over_the_horizon_and_catches_a_late_change() -> None:
    points, alpha = 186, 0.05
    level = math.log(points / alpha)
    assert _ever(_share_runs(4000, points, 0.005, 0.005, seed=7), "change", level).mean() <= alpha
    late = _share_runs(2000, points, 0.05, 0.005, seed=8, change_at=60)
    caught = np.array([h["change"] for h in late]) >= level
    first = np.argmax(caught, axis=0)
    assert caught.any(axis=0).mean() > 0.99 and np.median(first) - 60 < 30  # within 5 min of the change


def test_rate_evidence_is_valid_at_the_limit_and_catches_three_times_it() -> None:
    rng = np.random.default_rng(9)
    for rate, expect_low in ((0.01, True), (0.03, False)):
        ev = seq.RateEvidence(0.01)
        ever = np.zeros(3000, dtype=bool)
        for _ in range(186):
            n = rng.poisson(20, 3000)
            ev.add(n, rng.binomial(n, rate), NUMPY)
            ever |= ev.log_above(NUMPY) >= math.log(1 / 0.1)
        assert (ever.mean() <= 0.1) if expect_low else (ever.mean() > 0.9)


def test_float_and_numpy_paths_agree() -> None:
    rng = np.random.default_rng(10)
    data = [(int(rng.poisson(20)), int(rng.poisson(180))) for _ in range(30)]
    floats, arrays = seq.ShareEvidence(), seq.ShareEvidence()
    for n_c, n_s in data:
        k_c, k_s = int(rng.binomial(n_c, 0.05)), int(rng.binomial(n_s, 0.03))
        floats.add(n_c, k_c, n_s, k_s)
        arrays.add(np.array([n_c]), np.array([k_c]), np.array([n_s]), np.array([k_s]), NUMPY)
    for name in ("log_worse", "log_fine", "log_change"):
        assert getattr(floats, name)() == pytest.approx(float(getattr(arrays, name)(NUMPY)[0]))


def _comparison(**kwargs: float) -> seq.Comparison:
    return seq.Comparison(alpha=0.05, horizon_points=186, error_limit=0.01, slow_limit=0.01, **kwargs)


def test_comparison_survives_json_and_carries_on_identically() -> None:
    first, second = _comparison(), _comparison()
    points = [(seq.Counts(20, 1, 0, 0), seq.Counts(180, 1, 2, 0)), (seq.Counts(18, 0, 1, 0), seq.Counts(175, 2, 1, 0))]
    for canary, stable in points:
        first.add(canary, stable)
        second.add(canary, stable)
    restored = seq.Comparison.from_json(second.to_json())
    import json
    restored = seq.Comparison.from_json(json.loads(json.dumps(restored.to_json())))
    first.add(seq.Counts(22, 3, 4, 1), seq.Counts(181, 1, 2, 0))
    restored.add(seq.Counts(22, 3, 4, 1), seq.Counts(181, 1, 2, 0))
    assert restored.to_json() == first.to_json()


def test_verdicts_latch_and_unhealthy_wins() -> None:
    judge = _comparison()
    for _ in range(400):  # a canary no worse on either metric: "healthy" once both mirrors are established
        judge.add(seq.Counts(20, 0, 0, 0), seq.Counts(180, 2, 2, 0))
    assert judge.healthy() and not judge.unhealthy()
    for _ in range(30):  # then it breaks: unhealthy overrides healthy
        judge.add(seq.Counts(20, 8, 10, 8), seq.Counts(180, 2, 2, 0))
    assert judge.unhealthy() and not judge.healthy()
    judge.add(seq.Counts(20, 0, 0, 0), seq.Counts(180, 2, 2, 0))
    assert judge.unhealthy()  # latched


def test_no_slo_statements_without_limits() -> None:
    judge = seq.Comparison(alpha=0.05, horizon_points=10)
    judge.add(seq.Counts(20, 20, 20, 20), seq.Counts(20, 20, 20, 20))
    assert judge.statistic("errors_slo") is None and not judge.crossed["errors_slo"]


def test_alpha_is_split_by_a_union_bound_within_each_side() -> None:
    unhealthy = sum(seq.ALPHA_SHARES[s] for s in seq.UNHEALTHY_STATEMENTS)
    healthy = sum(seq.ALPHA_SHARES[s] for s in seq.HEALTHY_STATEMENTS)
    assert unhealthy <= 1 + 1e-9 and healthy <= 1 + 1e-9
    assert seq.log_threshold(0.05, "errors_worse") == pytest.approx(math.log(1 / (0.05 * seq.ALPHA_SHARES["errors_worse"])))
    share = 0.05 * seq.ALPHA_SHARES["errors_change"]
    assert seq.log_threshold(0.05, "errors_change", 186) == pytest.approx(math.log(186 * 2 / share))
    # past the planned horizon the detector keeps a valid budget: epoch k ends at 186·2^k and spends share/2^(k+1)
    assert seq.log_threshold(0.05, "errors_change", 186, 186) == pytest.approx(math.log(186 * 2 / share))
    assert seq.log_threshold(0.05, "errors_change", 186, 187) == pytest.approx(math.log(372 * 4 / share))
    assert seq.log_threshold(0.05, "errors_change", 186, 1000) == pytest.approx(math.log(1488 * 16 / share))


def test_more_requests_prediction() -> None:
    ev = seq.ShareEvidence()
    assert seq.more_requests_share(ev, "worse", 4.0) is None  # no canary traffic yet
    ev.add(120, 1, 1080, 5)
    early = seq.more_requests_share(ev, "fine", 4.0)
    worse = seq.more_requests_share(ev, "worse", 4.0)
    assert early is not None and worse is not None and early > 500 and worse > 500
    for _ in range(10):
        ev.add(120, 0, 1080, 6)
    later = seq.more_requests_share(ev, "fine", 4.0)
    assert later is not None and later < early
    for _ in range(60):
        ev.add(120, 0, 1080, 6)
    assert seq.more_requests_share(ev, "fine", 4.0) == 0.0
    rate = seq.RateEvidence(0.01)
    rate.add(100, 1)
    needed = seq.more_requests_rate(rate, 4.0)
    assert needed is not None and needed > 100
