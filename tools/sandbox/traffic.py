"""The traffic model: requests, errors, latency and error logs derived from the task timeline.

A service receives `requests_per_minute`, split among its running tasks by count (a canary task
beside ten stable ones serves ~1/11). Each version's profile turns its share (and how long it has
run) into an error rate and a p99; every request gets its own lognormal latency, so a period's p99
and its count of slow requests are those of the requests it served. Noise comes from an RNG keyed on
(seed, cluster, service, version, period), so the same window always yields the same numbers, and
log events are drawn from the same error counts.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tools.models import LogEvent, MetricPoint
from tools.sandbox.profiles import LATENCY_SIGMA, profile_for
from tools.sandbox.state import TimelineEntry

LOG_PERIOD_SECONDS = 10
_SLIVER = timedelta(seconds=1)  # clock drift between a caller's `now` and ours

_Segment = tuple[datetime, datetime, dict[str, list[str]]]
_Z99 = 2.3263478740408408  # the standard normal's 99th percentile


@dataclass
class _Sample:
    """What one version served in one period: its requests, errors and each request's latency."""

    requests: int
    errors: int
    latencies: list[float]


@dataclass
class TrafficSource:
    """One service in one cluster, as the model sees it at virtual time `now`."""

    seed: int
    cluster: str
    service: str
    kind: str
    requests_per_minute: float
    timeline: Sequence[TimelineEntry]
    now: datetime
    _times: list[datetime] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._times = [entry.at for entry in self.timeline]

    def segments(self, start: datetime, end: datetime) -> list[_Segment]:
        """Stretches of [start, end) (cut at now) during which the set of tasks did not change."""
        end = min(end, self.now)
        out: list[_Segment] = []
        i = max(bisect_right(self._times, start) - 1, 0)
        while i < len(self.timeline):
            entry = self.timeline[i]
            seg_start = max(entry.at, start)
            if seg_start >= end:
                break
            seg_end = min(self.timeline[i + 1].at, end) if i + 1 < len(self.timeline) else end
            if seg_end > seg_start and entry.tasks:
                out.append((seg_start, seg_end, entry.tasks))
            i += 1
        return out

    def versions(self, start: datetime, end: datetime) -> list[str]:
        return sorted({v for _, _, tasks in self.segments(start, end) for v, ids in tasks.items() if ids})

    def _rng(self, version: str, period_start: datetime, period_seconds: int, purpose: str) -> random.Random:
        key = (
            f"{self.seed}|{self.cluster}|{self.service}|{version}|{period_start.isoformat()}|{period_seconds}"
        )
        return random.Random(f"{key}|{purpose}")

    def started(self, version: str, at: datetime) -> datetime | None:
        """When `version` last started running without a break, as of `at` (None: not running then)."""
        i = bisect_right(self._times, at) - 1
        if i < 0 or not self.timeline[i].tasks.get(version):
            return None
        while i > 0 and self.timeline[i - 1].tasks.get(version):
            i -= 1
        return self.timeline[i].at

    def _sample(self, version: str, start: datetime, end: datetime, period_seconds: int,
                with_latency: bool = True) -> _Sample | None:
        profile = profile_for(self.kind, version)
        per_second = self.requests_per_minute / 60.0
        expected = expected_errors = log_p99 = 0.0
        for seg_start, seg_end, tasks in self.segments(start, end):
            mine = len(tasks.get(version, ()))
            if not mine:
                continue
            share = mine / sum(len(ids) for ids in tasks.values())
            since = self.started(version, seg_start)
            age = None if since is None else (seg_start - since).total_seconds()
            requests = (seg_end - seg_start).total_seconds() * per_second * share
            expected += requests
            expected_errors += requests * profile.error_fraction(share, age)
            log_p99 += requests * math.log(profile.p99(share, age))
        if expected <= 0:
            return None
        rng = self._rng(version, start, period_seconds, "metrics")
        requests = max(0, round(rng.gauss(expected, math.sqrt(expected))))
        errors = _binomial(rng, requests, expected_errors / expected)
        if not with_latency:
            return _Sample(requests, errors, [])
        mu = log_p99 / expected - _Z99 * LATENCY_SIGMA
        latency = self._rng(version, start, period_seconds, "latency")
        return _Sample(requests, errors, [latency.lognormvariate(mu, LATENCY_SIGMA) for _ in range(requests)])

    def point(self, version: str, start: datetime, end: datetime, period_seconds: int,
              slower_than_ms: Sequence[float] = ()) -> MetricPoint | None:
        """Traffic `version` served in the period [start, end); None when it had no task running."""
        sample = self._sample(version, start, end, period_seconds)
        return None if sample is None else _to_point(start, [sample], slower_than_ms)

    def observe(
        self, version: str | None, start: datetime, end: datetime, period_seconds: int,
        slower_than_ms: Sequence[float] = (), with_latency: bool = True,
    ) -> list[MetricPoint]:
        """Points of [start, end); without latency (no p99, no slow counts) when only counts are wanted,
        which spares drawing every request's latency."""
        points: list[MetricPoint] = []
        for p_start, p_end in _periods(start, end, period_seconds, self.now):
            versions = [version] if version is not None else self.versions(p_start, p_end)
            parts = [self._sample(v, p_start, p_end, period_seconds, with_latency) for v in versions]
            present = [p for p in parts if p is not None]
            if present:
                points.append(_to_point(p_start, present, slower_than_ms if with_latency else ()))
        return points

    def error_events(self, start: datetime, end: datetime, pattern: str | None, limit: int) -> list[LogEvent]:
        """Error log lines, one per error counted by `point` over 10 s periods; the newest `limit`."""
        if limit <= 0:
            return []
        needle = pattern.lower() if pattern else None
        found: list[LogEvent] = []
        for p_start, p_end in reversed(_periods(start, end, LOG_PERIOD_SECONDS, self.now)):
            for version in self.versions(p_start, p_end):
                counted = self._sample(version, p_start, p_end, LOG_PERIOD_SECONDS, with_latency=False)
                if counted is None or not counted.errors:
                    continue
                events = self._events(version, p_start, p_end, counted.errors)
                found.extend(e for e in events if needle is None or needle in e.message.lower())
            if len(found) >= limit:
                break
        found.sort(key=lambda e: e.timestamp)
        return found[-limit:]

    def _events(self, version: str, start: datetime, end: datetime, count: int) -> list[LogEvent]:
        profile = profile_for(self.kind, version)
        rng = self._rng(version, start, LOG_PERIOD_SECONDS, "logs")
        segments = [s for s in self.segments(start, end) if s[2].get(version)]
        if not segments:
            return []
        span = (segments[-1][1] - start).total_seconds()
        events: list[LogEvent] = []
        for _ in range(count):
            at = start + timedelta(seconds=rng.uniform(0.0, span))
            seg = next((s for s in segments if s[0] <= at < s[1]), segments[-1])
            tasks = seg[2]
            share = len(tasks[version]) / sum(len(ids) for ids in tasks.values())
            since = self.started(version, seg[0])
            age = None if since is None else (at - since).total_seconds()
            degraded = bool(profile.degraded_messages) and rng.random() < profile.degradation(share, age)
            choices = profile.degraded_messages if degraded else profile.messages
            message = f"{rng.choice(choices)} request_id={rng.getrandbits(48):012x}"
            events.append(
                LogEvent(timestamp=at, message=message, task_id=rng.choice(tasks[version]), version=version)
            )
        return events


def _periods(
    start: datetime, end: datetime, period_seconds: int, now: datetime
) -> list[tuple[datetime, datetime]]:
    """The periods of [start, end) that are over by `now`; a sliver left at the end joins the last one."""
    step = timedelta(seconds=max(1, period_seconds))
    out: list[tuple[datetime, datetime]] = []
    cursor = start
    while cursor < end:
        out.append((cursor, min(cursor + step, end)))
        cursor += step
    if len(out) > 1 and out[-1][1] - out[-1][0] < min(_SLIVER, step / 2):
        out[-2:] = [(out[-2][0], end)]
    return [(p_start, p_end) for p_start, p_end in out if p_end <= now]


def _to_point(timestamp: datetime, parts: list[_Sample], slower_than_ms: Sequence[float]) -> MetricPoint:
    """One period of one version (or of several together): its p99 is that of all the requests it served."""
    latencies = sorted(x for part in parts for x in part.latencies)
    requests = sum(part.requests for part in parts)
    return MetricPoint(
        timestamp=timestamp, requests=requests, errors=sum(part.errors for part in parts),
        p99_ms=round(latencies[math.ceil(0.99 * len(latencies)) - 1], 1) if latencies else None,
        slow_requests={float(t): len(latencies) - bisect_right(latencies, t) for t in slower_than_ms},
    )


def _binomial(rng: random.Random, n: int, p: float) -> int:
    if n <= 0 or p <= 0:
        return 0
    if n <= 400:
        return sum(1 for _ in range(n) if rng.random() < p)
    mean = n * p
    return min(n, max(0, round(rng.gauss(mean, math.sqrt(mean * (1 - p))))))
