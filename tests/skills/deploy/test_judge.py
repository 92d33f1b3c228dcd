"""The deterministic rules that judge a canary and a rollout, on accumulated evidence.

Points are built by hand; `FakeMetrics` serves them by period the way a backend does, so the
incremental watch (and its rebuild after a restart) are tested against the same data.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from skills.deploy.evidence import CanaryPlan, CanaryWatch, Evidence
from skills.deploy.judge import evaluate_validation, improvement_lines, judge_canary, no_data
from tools.config import Thresholds
from tools.models import MetricPoint, MetricWindow, ServiceTarget

START = datetime(2026, 1, 1, tzinfo=UTC)
LIMITS = Thresholds()
REF = 180.0  # the stable's pre-deploy p99


def point(t: int, requests: int, errors: int, slow: int | None = None, over: int = 0, p99: float = 150.0) -> MetricPoint:
    counts = {} if slow is None else {REF: slow, LIMITS.p99_latency_ms: over}
    return MetricPoint(timestamp=START + timedelta(seconds=10 * t), requests=requests, errors=errors, p99_ms=p99,
                       slow_requests=counts)


def evidence(pairs: Sequence[tuple[MetricPoint, MetricPoint]], reference: float | None = REF) -> Evidence:
    ev = Evidence.start(0.05, 186, LIMITS.error_rate_percent, LIMITS.p99_latency_ms, reference)
    for canary, stable in pairs:
        ev.add(canary, stable, 10)
    return ev


def traffic(points: int, canary_rate: float, stable_rate: float, canary_slow: float = 0.01,
            stable_slow: float = 0.01, seed: int = 1) -> list[tuple[MetricPoint, MetricPoint]]:
    rng = random.Random(seed)

    def draws(n: int, p: float) -> int:
        return sum(rng.random() < p for _ in range(n))

    out = []
    for t in range(points):
        n_c, n_s = 18 + rng.randint(-3, 3), 180 + rng.randint(-10, 10)
        out.append((point(t, n_c, draws(n_c, canary_rate), draws(n_c, canary_slow)),
                    point(t, n_s, draws(n_s, stable_rate), draws(n_s, stable_slow))))
    return out


def test_sixty_seconds_of_a_good_canary_is_inconclusive_and_says_how_much_more_it_needs() -> None:
    judgement = judge_canary(evidence(traffic(6, 0.005, 0.005)), LIMITS, True)
    assert judgement.verdict == "inconclusive" and not judgement.healthy and not judgement.reasons
    assert [r.ok for r in judgement.readings] == [None, None, True]
    healthy, unhealthy = judgement.more
    assert (healthy.verdict, unhealthy.verdict) == ("healthy", "unhealthy")
    assert healthy.requests is not None and unhealthy.requests is not None
    assert 500 < unhealthy.requests < 10_000 and healthy.minutes is not None and healthy.minutes > 5


def test_a_canary_shown_no_worse_on_both_metrics_is_healthy() -> None:
    judgement = judge_canary(evidence(traffic(300, 0.002, 0.01, 0.002, 0.01)), LIMITS, True)
    assert judgement.verdict == "healthy" and judgement.more == []
    assert [r.ok for r in judgement.readings] == [True, True, True]
    assert "slower than 180ms" in judgement.readings[1].detail


def test_an_error_rate_credibly_above_the_stables_fails() -> None:
    judgement = judge_canary(evidence(traffic(60, 0.04, 0.005)), LIMITS, True)
    assert judgement.verdict == "unhealthy"
    assert any("credibly higher than the stable version's" in r for r in judgement.reasons)
    assert judgement.readings[0].ok is False and judgement.readings[0].verdict == "unhealthy"


def test_an_outage_on_both_versions_is_not_the_canarys_fault_but_breaks_the_slo() -> None:
    ev = evidence(traffic(60, 0.05, 0.05))
    assert not ev.comparison.crossed["errors_worse"]  # the canary's share of errors is its share of traffic
    judgement = judge_canary(ev, LIMITS, True)
    assert judgement.verdict == "unhealthy" and any("above the 1% threshold" in r for r in judgement.reasons)


def test_many_slow_requests_fail_the_canary_on_latency() -> None:
    judgement = judge_canary(evidence(traffic(6, 0.005, 0.005, canary_slow=0.15)), LIMITS, True)
    assert judgement.verdict == "unhealthy" and judgement.readings[1].ok is False
    assert any("slower than 180ms" in r for r in judgement.reasons)


def test_without_slow_counts_latency_is_not_judged_and_never_healthy() -> None:
    pairs = [(point(t, 18, 0), point(t, 180, 2)) for t in range(400)]
    judgement = judge_canary(evidence(pairs, reference=None), LIMITS, True)
    assert judgement.verdict == "inconclusive" and judgement.readings[1].verdict == "not counted"
    assert [m.verdict for m in judgement.more] == ["unhealthy"]


def test_failing_health_checks_fail_the_canary() -> None:
    judgement = judge_canary(evidence(traffic(6, 0.005, 0.005)), LIMITS, False)
    assert judgement.verdict == "unhealthy" and "health checks are failing" in judgement.reasons[0]


def test_no_data_is_inconclusive_never_a_pass() -> None:
    judgement = no_data(judge_canary(evidence([(point(0, 3, 0, 0), point(0, 180, 1, 2))]), LIMITS, True), 60, LIMITS)
    assert judgement.verdict == "inconclusive" and not judgement.healthy
    assert "no data is not a pass" in judgement.reasons[0] and judgement.readings[0].ok is None


def test_a_couple_of_errors_in_a_small_sample_is_not_proof() -> None:
    # 2 errors in 110 requests (1.8%) beside a stable at 0.5%: far from shown.
    judgement = judge_canary(evidence([(point(0, 110, 2, 1), point(0, 1100, 5, 11))]), LIMITS, True)
    assert judgement.verdict == "inconclusive"


def test_a_clearly_bad_small_sample_fails() -> None:
    # 6 errors in 110 requests (5.5%) beside 5 in 1,100: the canary owns 6 of 11 errors with a 9% share.
    judgement = judge_canary(evidence([(point(0, 110, 6, 1), point(0, 1100, 5, 11))]), LIMITS, True)
    assert judgement.verdict == "unhealthy"


def test_validation_detects_degradation_against_before() -> None:
    pairs = [(point(t, 200, 10, 20, 4, p99=2300), point(t, 200, 1, 2, 0, p99=180)) for t in range(30)]
    judgement = evaluate_validation(evidence(pairs), LIMITS, True, 1200.0)
    assert judgement.verdict == "unhealthy"
    assert judgement.readings[0].verdict == "degraded" and judgement.readings[1].verdict == "degraded"


def test_validation_reports_improvement() -> None:
    pairs = [(point(t, 200, 0, 0, p99=142), point(t, 200, 1, 2, p99=180)) for t in range(30)]
    judgement = evaluate_validation(evidence(pairs), LIMITS, True, 1200.0)
    assert judgement.healthy and judgement.readings[0].verdict == "improved"
    assert judgement.readings[1].verdict == "improved"


def test_validation_noise_is_not_a_degradation() -> None:
    pairs = [(point(t, 200, 2 if t % 3 else 1, 2), point(t, 200, 1, 2)) for t in range(30)]
    judgement = evaluate_validation(evidence(pairs), LIMITS, True, 1200.0)
    assert judgement.healthy and judgement.readings[0].verdict == "stable"  # 1.5x, not shown in 5 min


def test_validation_fails_when_traffic_disappears() -> None:
    pairs = [(point(t, 20, 0, 0), point(t, 200, 1, 2)) for t in range(30)]
    judgement = evaluate_validation(evidence(pairs), LIMITS, True, 1200.0)
    assert not judgement.healthy and "Request rate dropped" in judgement.reasons[0]


def test_improvement_lines() -> None:
    def window(errors: int, p99: float) -> MetricWindow:
        return MetricWindow(version=None, start=START, end=START + timedelta(minutes=5),
                            points=[point(0, 6000, errors, p99=p99)])

    assert improvement_lines(window(30, 180), window(6, 142)) == ([
        "Error rate: 0.5% → 0.1% (80% reduction)", "Latency p99: 180ms → 142ms (21% improvement)",
    ], True)
    worse, improved = improvement_lines(window(2, 180), window(6, 142))  # 0.03% → 0.1%: no improvement
    assert worse[0] == "Error rate: 0.03% → 0.1% (200% worse)" and not improved
    assert improvement_lines(window(30, 180), window(0, 181)) == ([
        "Error rate: 0.5% → 0% (no errors in 6,000 requests)", "Latency p99: 180ms → 181ms (unchanged)",
    ], False)


class FakeMetrics:
    """Serves fixed points per version, by period, up to `now`; counts its reads."""

    def __init__(self, points: dict[str, list[MetricPoint]], settle: float = 0.0) -> None:
        self.points, self.settle, self.reads = points, settle, 0

    def preflight(self, target: ServiceTarget) -> list[str]:
        return []

    def settle_seconds(self, target: ServiceTarget) -> float:
        return self.settle

    def observe(self, target: ServiceTarget, version: str | None, start: datetime, end: datetime,
                period_seconds: int = 10, slower_than_ms: Sequence[float] = ()) -> MetricWindow:
        return self.observe_versions(target, [version], start, end, period_seconds, slower_than_ms)[0]

    def observe_versions(self, target: ServiceTarget, versions: Sequence[str | None], start: datetime, end: datetime,
                         period_seconds: int = 10, slower_than_ms: Sequence[float] = ()) -> list[MetricWindow]:
        self.reads += 1
        return [MetricWindow(version=v, start=start, end=end, period_seconds=period_seconds,
                             points=[p for p in self.points[v or ""] if start <= p.timestamp < end]) for v in versions]


def _watch(metrics: FakeMetrics) -> CanaryWatch:
    plan = CanaryPlan(since=START, reference_ms=REF, horizon_points=186)
    return CanaryWatch(metrics, None, "new", "old", CanaryPlan.from_json(plan.to_json()), 0.05,  # type: ignore[arg-type]
                       LIMITS.error_rate_percent, LIMITS.p99_latency_ms)


def test_the_watch_adds_only_completed_settled_periods_and_a_rebuild_agrees() -> None:
    pairs = traffic(90, 0.01, 0.005, seed=3)
    metrics = FakeMetrics({"new": [c for c, _ in pairs], "old": [s for _, s in pairs]}, settle=30)
    live = _watch(metrics)
    for seconds in range(0, 900 + 1, 30):
        live.update(START + timedelta(seconds=seconds + 5))
    assert live.evidence.points == 87  # 900 s less the 30 s that have not settled, in whole periods
    assert live.through == START + timedelta(seconds=870)
    rebuilt = _watch(metrics)
    reads = metrics.reads
    rebuilt.update(START + timedelta(seconds=905))  # a resumed deploy: one read of the whole window
    assert metrics.reads - reads == 1  # one read of both versions (one GetMetricData on AWS)
    assert rebuilt.evidence.comparison.to_json() == live.evidence.comparison.to_json()


def test_the_validation_sparkline_spans_before_and_after() -> None:
    from skills.deploy.judge import before_then_after

    assert before_then_after([1.0] * 30, [0.1] * 30) == [1.0] * 10 + [0.1] * 30  # the step at the rollout shows
    assert before_then_after([1.0] * 30, []) == []


def test_a_rollback_is_held_to_the_thresholds_only() -> None:
    # Going back to a version known to run at 0.6% errors from one at 0.03%: worse than the stable, but
    # it is the way back; only an SLO statement (or failing health checks) may stop it.
    back = evidence(traffic(60, 0.006, 0.0003))
    assert judge_canary(back, LIMITS, True).verdict == "unhealthy"  # as a deploy it would be stopped
    rollback = judge_canary(back, LIMITS, True, relative=False)
    assert rollback.verdict != "unhealthy" and rollback.reasons == []
    broken = judge_canary(evidence(traffic(60, 0.05, 0.0003)), LIMITS, True, relative=False)
    assert broken.verdict == "unhealthy" and any("above the 1% threshold" in r for r in broken.reasons)
