"""The deterministic rules that judge a canary and a rollout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from skills.deploy.judge import evaluate_canary, evaluate_validation, improvement_lines
from tools.config import Thresholds
from tools.models import MetricPoint, MetricWindow

START = datetime(2026, 1, 1, tzinfo=UTC)


def window(requests: int, errors: int, p99: float | None, periods: int = 6, version: str | None = "v") -> MetricWindow:
    points = [
        MetricPoint(timestamp=START + timedelta(seconds=10 * i), requests=requests // periods,
                    errors=errors // periods, p99_ms=p99)
        for i in range(periods)
    ]
    return MetricWindow(version=version, start=START, end=START + timedelta(seconds=10 * periods), points=points)


LIMITS = Thresholds()


def test_healthy_canary_passes() -> None:
    judgement = evaluate_canary(window(120, 0, 145), window(1200, 6, 180), LIMITS, True)
    assert judgement.verdict == "healthy" and judgement.reasons == []
    assert [r.ok for r in judgement.readings] == [True, True, True]


def test_error_rate_above_threshold_fails() -> None:
    judgement = evaluate_canary(window(600, 12, 145), window(1200, 6, 180), LIMITS, True)
    assert judgement.verdict == "unhealthy"
    assert any("above the 1% threshold" in r for r in judgement.reasons)


def test_worse_than_stable_fails_even_under_the_threshold() -> None:
    limits = Thresholds(error_rate_percent=5.0, p99_latency_ms=1000)
    judgement = evaluate_canary(window(600, 18, 400), window(1200, 6, 180), limits, True)
    assert judgement.verdict == "unhealthy"
    assert any("stable version's" in r and "Error rate" in r for r in judgement.reasons)
    assert any("stable version's" in r and "Latency" in r for r in judgement.reasons)


def test_no_data_is_inconclusive_never_a_pass() -> None:
    judgement = evaluate_canary(window(0, 0, None), window(1200, 6, 180), LIMITS, True)
    assert judgement.verdict == "inconclusive" and not judgement.healthy
    assert "no data is not a pass" in judgement.reasons[0]
    assert judgement.readings[0].ok is None


def test_too_few_requests_is_inconclusive() -> None:
    assert evaluate_canary(window(12, 0, 140), window(1200, 6, 180), LIMITS, True).verdict == "inconclusive"


def test_failing_health_checks_fail_the_canary() -> None:
    judgement = evaluate_canary(window(120, 0, 145), window(1200, 6, 180), LIMITS, False)
    assert judgement.verdict == "unhealthy" and "health checks are failing" in judgement.reasons[0]


def test_validation_detects_degradation_against_before() -> None:
    judgement = evaluate_validation(window(6000, 30, 180, version=None), window(6000, 312, 2300, version=None),
                                    LIMITS, True)
    assert judgement.verdict == "unhealthy"
    assert judgement.readings[0].verdict == "degraded" and judgement.readings[1].verdict == "degraded"


def test_validation_reports_improvement() -> None:
    before, after = window(6000, 30, 180, version=None), window(6000, 6, 142, version=None)
    judgement = evaluate_validation(before, after, LIMITS, True)
    assert judgement.healthy and judgement.readings[0].verdict == "improved"
    assert improvement_lines(before, after) == [
        "Error rate: 0.5% → 0.1% (80% reduction)", "Latency p99: 180ms → 142ms (21% improvement)",
    ]


def test_validation_fails_when_traffic_disappears() -> None:
    judgement = evaluate_validation(window(6000, 6, 150, version=None), window(600, 0, 150, version=None), LIMITS, True)
    assert not judgement.healthy and "Request rate dropped" in judgement.reasons[0]


def test_a_couple_of_errors_in_a_small_sample_is_not_proof() -> None:
    # 2 errors in 110 requests (1.8%) from a version whose true rate is ~0.5%: not credibly above 1%.
    judgement = evaluate_canary(window(110, 2, 180, periods=1), window(1100, 5, 180, periods=1), LIMITS, True)
    assert judgement.verdict == "healthy"


def test_a_clearly_bad_small_sample_fails() -> None:
    # 6 errors in 110 requests (5.5%): above 1% with 95% confidence.
    judgement = evaluate_canary(window(110, 6, 180, periods=1), window(1100, 5, 180, periods=1), LIMITS, True)
    assert judgement.verdict == "unhealthy"
