"""Evidence that accumulates point by point: the canary against the stable version running beside it,
and the service after the rollout against the same-length window before the deploy.

`Evidence` wraps one `sequential.Comparison` with what the readings show (rates, a p99 for display,
sparkline series). `CanaryWatch` feeds it from the metrics backend: every call reads only the periods
completed (and settled) since the last one, so the judgement is cumulative from the end of the health
checks through the whole approval wait. Nothing of it is checkpointed but its plan (`CanaryPlan`):
a deploy resumed after its process died reads the whole window again and gets the same evidence,
because the same periods hold the same data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from skills.deploy.sequential import Comparison, Counts
from tools.backend import Metrics
from tools.models import MetricPoint, MetricWindow, ServiceTarget

SLO_SHARE_ABOVE_P99 = 0.01  # a p99 limit is "at most 1 % of requests slower than it"


@dataclass
class Side:
    """One side's totals as the readings show them (the statistics keep their own)."""

    requests: int = 0
    errors: int = 0
    slow: int = 0
    p99_weighted: float = 0.0  # Σ p99 x requests over points with a p99: a display p99 (reads low for tiny points)
    p99_requests: int = 0
    error_series: list[float] = field(default_factory=list)
    p99_series: list[float] = field(default_factory=list)
    request_series: list[float] = field(default_factory=list)

    def add(self, point: MetricPoint | None, reference_ms: float | None) -> Counts:
        if point is None or point.requests <= 0:
            return Counts(0, 0, 0, 0)
        slow = point.slow_requests.get(reference_ms, 0) if reference_ms is not None else 0
        self.requests += point.requests
        self.errors += point.errors
        self.slow += slow
        self.error_series.append(100.0 * point.errors / point.requests)
        self.request_series.append(float(point.requests))
        if point.p99_ms is not None:
            self.p99_weighted += point.p99_ms * point.requests
            self.p99_requests += point.requests
            self.p99_series.append(point.p99_ms)
        return Counts(point.requests, point.errors, slow, 0)

    @property
    def error_rate_percent(self) -> float | None:
        return None if not self.requests else 100.0 * self.errors / self.requests

    @property
    def slow_percent(self) -> float | None:
        return None if not self.requests else 100.0 * self.slow / self.requests

    @property
    def p99_ms(self) -> float | None:
        return None if not self.p99_requests else self.p99_weighted / self.p99_requests


@dataclass
class Evidence:
    """A comparison of a new side (the canary; the service after) with a base (the stable; before)."""

    comparison: Comparison
    reference_ms: float | None  # "slow" means slower than this (the stable's pre-deploy p99)
    limit_ms: float  # the configured p99 limit
    new: Side = field(default_factory=Side)
    base: Side = field(default_factory=Side)
    latency_counted: bool = False  # the backend counted slow requests (else latency is not judged)
    points: int = 0
    seconds: float = 0.0

    @classmethod
    def start(cls, alpha: float, horizon_points: int, error_limit_percent: float, limit_ms: float,
              reference_ms: float | None) -> Evidence:
        comparison = Comparison(alpha=alpha, horizon_points=horizon_points, error_limit=error_limit_percent / 100,
                                slow_limit=SLO_SHARE_ABOVE_P99)
        return cls(comparison, reference_ms, limit_ms)

    @property
    def thresholds_ms(self) -> tuple[float, ...]:
        return (self.limit_ms,) if self.reference_ms is None else (self.reference_ms, self.limit_ms)

    def add(self, new: MetricPoint | None, base: MetricPoint | None, period_seconds: float) -> None:
        counts_new = self.new.add(new, self.reference_ms)
        counts_base = self.base.add(base, self.reference_ms)
        if new is not None and new.slow_requests:
            self.latency_counted = self.latency_counted or self.reference_ms in new.slow_requests
            counts_new.over_limit = new.slow_requests.get(self.limit_ms, 0)
        self.comparison.add(counts_new, counts_base)
        self.points += 1
        self.seconds += period_seconds

    @property
    def requests_per_minute(self) -> float | None:
        return None if self.seconds <= 0 else self.new.requests * 60.0 / self.seconds


def _period(window: MetricWindow, asked: int) -> int:
    return window.period_seconds or asked


@dataclass
class CanaryPlan:
    """What a canary's judgement needs to be rebuilt after a restart; kept in the checkpointed state."""

    since: datetime  # the end of the health checks: the first period judged
    reference_ms: float | None  # the stable's p99 over the window before the deploy
    horizon_points: int  # for the late-degradation detectors' false-alarm budget
    period_seconds: int = 10

    def to_json(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "reference_ms": self.reference_ms,
                "horizon_points": self.horizon_points, "period_seconds": self.period_seconds}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CanaryPlan:
        return cls(since=datetime.fromisoformat(data["since"]), reference_ms=data.get("reference_ms"),
                   horizon_points=int(data["horizon_points"]), period_seconds=int(data.get("period_seconds", 10)))


def reference_p99(metrics: Metrics, target: ServiceTarget, version: str | None, end: datetime,
                  seconds: int) -> float | None:
    """The p99 of `version` over the `seconds` before `end`, read as one period (so it is the p99 of all
    those requests, not an average of small periods' p99s)."""
    window = metrics.observe(target, version, end - timedelta(seconds=seconds), end, seconds)
    return window.p99_ms


class CanaryWatch:
    """The canary's evidence, kept up to date from the metrics backend."""

    def __init__(self, metrics: Metrics, target: ServiceTarget, canary_version: str, stable_version: str,
                 plan: CanaryPlan, alpha: float, error_limit_percent: float, limit_ms: float) -> None:
        self.metrics, self.target = metrics, target
        self.canary_version, self.stable_version = canary_version, stable_version
        self.plan = plan
        self.evidence = Evidence.start(alpha, plan.horizon_points, error_limit_percent, limit_ms, plan.reference_ms)
        self.through = plan.since  # periods that start before this are in the evidence

    def update(self, now: datetime) -> bool:
        """Add every period completed (and settled) by `now`; True when anything was added."""
        end = now - timedelta(seconds=self.metrics.settle_seconds(self.target))
        asked = self.plan.period_seconds
        if (end - self.through).total_seconds() < asked:
            return False
        thresholds = self.evidence.thresholds_ms
        canary, stable = self.metrics.observe_versions(  # one read for both (one GetMetricData on AWS)
            self.target, [self.canary_version, self.stable_version], self.through, end, asked, thresholds)
        period = _period(canary, asked)
        by_time: dict[datetime, list[MetricPoint | None]] = {}
        for index, window in enumerate((canary, stable)):
            for point in window.points:
                by_time.setdefault(point.timestamp, [None, None])[index] = point
        added = False
        for stamp in sorted(by_time):
            if stamp < self.through:
                continue  # a period that began before the judgement did (a backend that aligns periods)
            if stamp + timedelta(seconds=period) > end:
                break  # not over (or not settled) yet: next time
            new, base = by_time[stamp]
            self.evidence.add(new, base, period)
            self.through = stamp + timedelta(seconds=period)
            added = True
        if not by_time and (end - self.through).total_seconds() >= period:
            # No traffic at all so far: count the time, so that the request rate says so.
            whole = int((end - self.through).total_seconds() // period) * period
            self.evidence.seconds += whole
            self.through += timedelta(seconds=whole)
        return added

    @property
    def observed_seconds(self) -> float:
        return (self.through - self.plan.since).total_seconds()
