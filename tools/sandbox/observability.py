"""The sandbox's Registry, Metrics, Logs, Incidents and Secrets, all reading the shared fleet.

Alarms are CloudWatch-like metric alarms evaluated on the simulated traffic (the last three
whole minutes of the service) unless `SandboxFleet.set_alarm` forced them into a state.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from tools.models import Alarm, Image, LogSearch, MetricWindow, SecretCheck, ServiceTarget
from tools.sandbox.fleet import SandboxFleet
from tools.sandbox.state import AlarmRecord
from tools.sandbox.traffic import LOG_PERIOD_SECONDS, TrafficSource

ALARM_WINDOW = timedelta(minutes=3)
MIN_ALARM_ERRORS = 10  # an error-rate alarm needs at least this many errors in its window
_SINCE_LOOKBACK_MINUTES = 360


class SandboxRegistry:
    def __init__(self, fleet: SandboxFleet) -> None:
        self.fleet = fleet

    def find_image(self, repository: str, tag: str) -> Image | None:
        images = self.fleet.store.read().images.get(repository, [])
        return next((i.model_copy() for i in images if i.tag == tag), None)

    def recent_images(self, repository: str, limit: int = 10) -> list[Image]:
        """The repository's images, most recently pushed first."""
        images = self.fleet.store.read().images.get(repository, [])
        return [i.model_copy() for i in sorted(images, key=lambda i: i.pushed_at, reverse=True)[:limit]]


class SandboxMetrics:
    def __init__(self, fleet: SandboxFleet) -> None:
        self.fleet = fleet

    def preflight(self, target: ServiceTarget) -> list[str]:
        return []  # the traffic model knows every version's share

    def settle_seconds(self, target: ServiceTarget) -> float:
        return 0.0  # the traffic model answers for any window at once

    def observe(
        self,
        target: ServiceTarget,
        version: str | None,
        start: datetime,
        end: datetime,
        period_seconds: int = 10,
        slower_than_ms: Sequence[float] = (),
    ) -> MetricWindow:
        points = self.fleet.traffic(target).observe(version, start, end, period_seconds, slower_than_ms)
        return MetricWindow(version=version, start=start, end=end, points=points, period_seconds=period_seconds)

    def observe_versions(
        self,
        target: ServiceTarget,
        versions: Sequence[str | None],
        start: datetime,
        end: datetime,
        period_seconds: int = 10,
        slower_than_ms: Sequence[float] = (),
    ) -> list[MetricWindow]:
        traffic = self.fleet.traffic(target)
        return [MetricWindow(version=v, start=start, end=end, period_seconds=period_seconds,
                             points=traffic.observe(v, start, end, period_seconds, slower_than_ms))
                for v in versions]


class SandboxLogs:
    def __init__(self, fleet: SandboxFleet) -> None:
        self.fleet = fleet

    def error_events(
        self,
        target: ServiceTarget,
        start: datetime,
        end: datetime,
        pattern: str | None = None,
        limit: int = 200,
    ) -> LogSearch:
        """The newest `limit` lines and the exact count: every period of the window is read (the lines are
        drawn from the same 10 s error counts as the metrics, so the count needs no lines)."""
        source = self.fleet.traffic(target)
        if pattern:
            matching = source.error_events(start, end, pattern, 10**9)
            return LogSearch(events=matching[-limit:] if limit > 0 else [], total=len(matching))
        events = source.error_events(start, end, None, limit)
        total = sum(p.errors for p in source.observe(None, start, end, LOG_PERIOD_SECONDS))
        return LogSearch(events=events, total=max(total, len(events)))


class SandboxIncidents:
    def __init__(self, fleet: SandboxFleet) -> None:
        self.fleet = fleet

    def active_alarms(self, target: ServiceTarget) -> list[Alarm]:
        return [a for a in self.all_alarms(target) if a.state == "ALARM"]

    def all_alarms(self, target: ServiceTarget) -> list[Alarm]:
        """Every alarm of the service with its current state (sandbox-only, for status views)."""
        _state, service = self.fleet.service(target)
        source = self.fleet.traffic(target)
        return [_evaluate(alarm, source) for alarm in service.alarms]


class SandboxSecrets:
    def __init__(self, fleet: SandboxFleet) -> None:
        self.fleet = fleet

    def check_readable(self, name: str, reference: str) -> SecretCheck:
        readable = self.fleet.store.read().secrets.get(reference)
        if readable is None:
            reason: str | None = "ResourceNotFoundException: secret not found"
        elif not readable:
            reason = "AccessDeniedException: not authorized to perform secretsmanager:GetSecretValue on it"
        else:
            reason = None
        return SecretCheck(name=name, reference=reference, readable=bool(readable), reason=reason)


def _evaluate(alarm: AlarmRecord, source: TrafficSource) -> Alarm:
    if alarm.forced_state is not None:
        return Alarm(
            name=alarm.name,
            state=alarm.forced_state,
            reason=alarm.forced_reason,
            description=alarm.description,
            since=alarm.forced_since,
        )
    minute = source.now.replace(second=0, microsecond=0)
    value = _value(alarm, source, minute)
    if value is None or alarm.threshold is None:
        return Alarm(
            name=alarm.name, state="INSUFFICIENT_DATA", description=alarm.description, reason="No traffic."
        )
    if value <= alarm.threshold:
        return Alarm(name=alarm.name, state="OK", description=alarm.description, reason=_reason(alarm, value))
    since = minute
    for _ in range(_SINCE_LOOKBACK_MINUTES):
        earlier = _value(alarm, source, since - timedelta(minutes=1))
        if earlier is None or earlier <= alarm.threshold:
            break
        since -= timedelta(minutes=1)
    return Alarm(
        name=alarm.name,
        state="ALARM",
        reason=_reason(alarm, value),
        description=alarm.description,
        since=since,
    )


def _value(alarm: AlarmRecord, source: TrafficSource, end: datetime) -> float | None:
    points = source.observe(None, end - ALARM_WINDOW, end, 60, with_latency=alarm.metric == "p99_ms")
    window = MetricWindow(version=None, start=end - ALARM_WINDOW, end=end, points=points)
    if alarm.metric == "error_rate_percent":
        # Like an alarm on IF(errors >= N, rate, 0): on a quiet service, 3 errors in 135 requests
        # is 2.2% but no incident.
        rate = window.error_rate_percent
        return rate if rate is None or window.errors >= MIN_ALARM_ERRORS else min(rate, alarm.threshold or rate)
    if alarm.metric == "p99_ms":
        return window.p99_ms
    return None


def _reason(alarm: AlarmRecord, value: float) -> str:
    threshold = alarm.threshold or 0.0
    crossed = "Threshold Crossed" if value > threshold else "Within threshold"
    if alarm.metric == "error_rate_percent":
        return f"{crossed}: 5xx error rate {value:.2f}% over the last 3 minutes (threshold {threshold:g}%)."
    return f"{crossed}: p99 latency {value:,.0f} ms over the last 3 minutes (threshold {threshold:,.0f} ms)."
