"""Deterministic verdicts on observed metrics. The model never judges health; these rules do."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from skills.events import MetricReading
from tools.config import Thresholds
from tools.models import MetricWindow

Verdict = Literal["healthy", "unhealthy", "inconclusive"]


@dataclass
class Judgement:
    verdict: Verdict
    reasons: list[str] = field(default_factory=list)
    readings: list[MetricReading] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return self.verdict == "healthy"


# One-sided 99% confidence: a small canary sample must show an error rate *credibly* above a limit
# before it fails on it (2 errors in 110 requests is not proof that 0.5% became 1.8%). 99% rather
# than 95% because the canary is re-judged every 30 s while it waits for approval.
Z_ONE_SIDED = 2.326


def error_rate_lower_bound(window: MetricWindow) -> float | None:
    """Wilson score lower bound of the error rate, in percent."""
    n, errors = window.requests, window.errors
    if n == 0:
        return None
    p, z = errors / n, Z_ONE_SIDED
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, 100.0 * (centre - spread) / (1 + z * z / n))


def _series(window: MetricWindow, what: str) -> list[float]:
    values: list[float] = []
    for point in window.points:
        if what == "errors":
            values.append(100.0 * point.errors / point.requests if point.requests else 0.0)
        elif what == "p99" and point.p99_ms is not None:
            values.append(point.p99_ms)
        elif what == "requests":
            values.append(float(point.requests))
    return values


def fmt_percent(value: float | None) -> str:
    if value is None:
        return "no data"
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "no data"
    return f"{value / 1000:.1f}s" if value >= 1000 else f"{value:.0f}ms"


def evaluate_canary(
    canary: MetricWindow, stable: MetricWindow, thresholds: Thresholds, health_checks_passing: bool
) -> Judgement:
    """Judge the canary against the thresholds and against the stable version over the same window.

    Error rates fail when their 99% lower bound crosses a limit; too few requests is
    "inconclusive", which never passes.
    """
    reasons: list[str] = []
    seconds = (canary.end - canary.start).total_seconds()
    errors, p99 = canary.error_rate_percent, canary.p99_ms
    base_errors, base_p99 = stable.error_rate_percent, stable.p99_ms
    no_data = canary.requests < thresholds.min_requests or p99 is None

    errors_low = error_rate_lower_bound(canary)
    errors_ok = errors_low is not None and errors_low <= thresholds.error_rate_percent
    if errors is not None and not errors_ok:
        reasons.append(f"Error rate {fmt_percent(errors)} is above the {fmt_percent(thresholds.error_rate_percent)} threshold")
    if errors_low is not None and base_errors is not None and errors_low > base_errors + thresholds.max_error_rate_increase_points:
        errors_ok = False
        reasons.append(
            f"Error rate {fmt_percent(errors)} is more than {thresholds.max_error_rate_increase_points:g} points"
            f" above the stable version's {fmt_percent(base_errors)}"
        )
    p99_ok = p99 is not None and p99 <= thresholds.p99_latency_ms
    if p99 is not None and not p99_ok:
        reasons.append(f"Latency p99 {fmt_ms(p99)} is above the {fmt_ms(thresholds.p99_latency_ms)} threshold")
    if p99 is not None and base_p99 is not None and p99 > base_p99 * (1 + thresholds.max_p99_increase_percent / 100):
        p99_ok = False
        reasons.append(
            f"Latency p99 {fmt_ms(p99)} is more than {thresholds.max_p99_increase_percent:g}% above"
            f" the stable version's {fmt_ms(base_p99)}"
        )
    if not health_checks_passing:
        reasons.append("Canary health checks are failing")

    readings = [
        MetricReading(
            name="Error Rate", unit="%", value=errors, threshold=thresholds.error_rate_percent,
            baseline=base_errors, ok=None if no_data else errors_ok, series=_series(canary, "errors"),
        ),
        MetricReading(
            name="Latency (p99)", unit="ms", value=p99, threshold=thresholds.p99_latency_ms,
            baseline=base_p99, ok=None if no_data else p99_ok, series=_series(canary, "p99"),
        ),
        MetricReading(
            name="Health Checks", unit="", value=None, ok=health_checks_passing,
            verdict="Passing" if health_checks_passing else "Failing",
        ),
    ]
    if no_data:
        return Judgement(
            "inconclusive",
            [f"Only {canary.requests} requests reached the canary in {seconds:.0f}s"
             f" (at least {thresholds.min_requests} needed): no data is not a pass"] + reasons,
            readings,
        )
    return Judgement("unhealthy" if reasons else "healthy", reasons, readings)


def _trend(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return "no data"
    if after < before * 0.9:
        return "improved"
    if after > before * 1.1:
        return "degraded"
    return "stable"


def evaluate_validation(
    before: MetricWindow, after: MetricWindow, thresholds: Thresholds, tasks_healthy: bool
) -> Judgement:
    """Compare the service after the rollout with the same-length window before the deploy."""
    reasons: list[str] = []
    errors, p99 = after.error_rate_percent, after.p99_ms
    base_errors, base_p99 = before.error_rate_percent, before.p99_ms

    errors_low = error_rate_lower_bound(after)
    errors_ok = errors_low is not None and errors_low <= thresholds.error_rate_percent
    if errors_low is not None and base_errors is not None and errors_low > base_errors + thresholds.max_error_rate_increase_points:
        errors_ok = False
    if not errors_ok:
        reasons.append(f"Error rate {fmt_percent(base_errors)} → {fmt_percent(errors)} (threshold {fmt_percent(thresholds.error_rate_percent)})")
    p99_ok = p99 is not None and p99 <= thresholds.p99_latency_ms
    if p99 is not None and base_p99 is not None and p99 > base_p99 * (1 + thresholds.max_p99_increase_percent / 100):
        p99_ok = False
    if not p99_ok:
        reasons.append(f"Latency p99 {fmt_ms(base_p99)} → {fmt_ms(p99)} (threshold {fmt_ms(thresholds.p99_latency_ms)})")
    rate, base_rate = after.requests_per_minute, before.requests_per_minute
    rate_ok = rate is not None and (base_rate is None or rate >= 0.5 * base_rate)
    if not rate_ok:
        reasons.append("Request rate dropped by more than half")
    if not tasks_healthy:
        reasons.append("Not all tasks are healthy")

    readings = [
        MetricReading(
            name="Error Rate", unit="%", value=errors, threshold=thresholds.error_rate_percent, baseline=base_errors,
            ok=errors_ok, verdict="degraded" if not errors_ok else _trend(base_errors, errors),
            series=_series(after, "errors"),
        ),
        MetricReading(
            name="Latency p99", unit="ms", value=p99, threshold=thresholds.p99_latency_ms, baseline=base_p99,
            ok=p99_ok, verdict="degraded" if not p99_ok else _trend(base_p99, p99), series=_series(after, "p99"),
        ),
        MetricReading(
            name="Request Rate", unit="/min", value=rate, baseline=base_rate, ok=rate_ok,
            verdict="stable" if rate_ok else "dropped", series=_series(after, "requests"),
        ),
        MetricReading(
            name="Health Checks", unit="", value=None, ok=tasks_healthy,
            verdict="All passing" if tasks_healthy else "Failing",
        ),
    ]
    return Judgement("unhealthy" if reasons else "healthy", reasons, readings)


def improvement_lines(before: MetricWindow, after: MetricWindow) -> list[str]:
    """The summary's "Improvements Observed" (or changes) lines."""
    lines = []
    for label, old, new, fmt in (
        ("Error rate", before.error_rate_percent, after.error_rate_percent, fmt_percent),
        ("Latency p99", before.p99_ms, after.p99_ms, fmt_ms),
    ):
        if old is None or new is None or old == 0:
            continue
        change = (old - new) / old * 100
        word = "reduction" if label == "Error rate" else "improvement"
        tail = f"{change:.0f}% {word}" if change > 0 else f"{-change:.0f}% worse"
        lines.append(f"{label}: {fmt(old)} → {fmt(new)} ({tail})")
    return lines
