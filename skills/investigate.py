"""Investigate a service over a window: errors by signature, metrics against the window before, alarms,
and the deployments from the scratchpad that line up in time; with ``recall`` (a starter of a background
lookup, see ``skills.investigate_recall``), similar past incidents and the runbook section to follow.
Deterministic; never changes anything.

    findings = investigate(backend, store, target, window_minutes=10, question="...")
    findings.answer      # a short answer citing the evidence
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from memory.recall_lookup import RecallLookup
from memory.records import DeploymentRecord, InvestigationRecord
from memory.scratchpad import Scratchpad
from skills import investigate_recall as past
from tools.backend import Backend
from tools.models import Alarm, MetricWindow, ServiceTarget

_NOISE = [
    (re.compile(r"request_id=\S+"), "request_id=…"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f-]{27,}\b"), "<uuid>"),
    (re.compile(r"\b[0-9a-f]{10,}\b"), "<hex>"),
    (re.compile(r"\b\d+(\.\d+)?\b"), "<n>"),
]


class ErrorSignature(BaseModel):
    signature: str  # the message with ids and numbers blanked out
    example: str  # one message as logged (data, never instructions)
    count: int
    first_seen: datetime
    last_seen: datetime
    versions: list[str] = Field(default_factory=list)


class MetricSummary(BaseModel):
    start: datetime
    end: datetime
    requests: int
    errors: int
    error_rate_percent: float | None
    p99_ms: float | None
    requests_per_minute: float | None

    @classmethod
    def of(cls, window: MetricWindow) -> MetricSummary:
        return cls(start=window.start, end=window.end, requests=window.requests, errors=window.errors,
                   error_rate_percent=window.error_rate_percent, p99_ms=window.p99_ms,
                   requests_per_minute=window.requests_per_minute)


class DeploymentLineUp(BaseModel):
    deployment_id: str
    kind: str
    from_version: str | None
    to_version: str
    status: str
    started_at: datetime
    reached_full_at: datetime | None  # when the new version served 100% (rollout complete)
    errors_rose_at: datetime | None
    note: str  # "errors rose 2 min after 1.2.4 reached 100%"


class Findings(BaseModel):
    service: str
    environment: str
    window_start: datetime
    window_end: datetime
    error_count: int
    errors: list[ErrorSignature]
    current: MetricSummary
    previous: MetricSummary
    alarms: list[Alarm]
    deployments: list[DeploymentLineUp]
    recall: past.RecallFindings | None = None  # None: no incident to match (no alarm, no rise in errors)
    evidence: list[str]  # what the answer rests on, named
    answer: str


def signature_of(message: str) -> str:
    for pattern, replacement in _NOISE:
        message = pattern.sub(replacement, message)
    return message.strip()


def group_errors(events: list) -> list[ErrorSignature]:  # type: ignore[type-arg]
    groups: dict[str, ErrorSignature] = {}
    for event in sorted(events, key=lambda e: e.timestamp):
        key = signature_of(event.message)
        group = groups.get(key)
        if group is None:
            groups[key] = ErrorSignature(signature=key, example=event.message, count=1,
                                         first_seen=event.timestamp, last_seen=event.timestamp,
                                         versions=[event.version] if event.version else [])
            continue
        group.count += 1
        group.last_seen = event.timestamp
        if event.version and event.version not in group.versions:
            group.versions.append(event.version)
    return sorted(groups.values(), key=lambda g: (-g.count, g.first_seen))


def investigate(backend: Backend, store: Scratchpad, target: ServiceTarget, window_minutes: int = 10,
                offset_minutes: int = 0, question: str = "", record: bool = True,
                recall: Callable[[], RecallLookup] | None = None,
                recall_wait: float = past.RECALL_WAIT_SECONDS) -> Findings:
    """Look at `target` over the `window_minutes` ending `offset_minutes` ago (virtual time).

    `recall` starts the background lookup of similar incidents (first, so it runs beside the rest);
    its hits are awaited `recall_wait` seconds at the end, else the answer says they are not available.
    """
    lookup = past.start(recall)
    now = backend.clock.now()
    try:
        findings = _look(backend, store, target, now, window_minutes, offset_minutes, lookup, recall_wait)
    finally:
        past.close(lookup)  # an error in the middle leaves no lookup waiting
    findings.evidence = _evidence(findings)
    findings.answer = summarize(findings)
    if record:
        store.record_investigation(InvestigationRecord(
            id="inv-" + uuid.uuid4().hex[:10], service=target.key, environment=target.environment,
            question=question or f"investigate {target.key} last {window_minutes} minutes", started_at=now,
            window_start=findings.window_start, window_end=findings.window_end, summary=findings.answer,
            findings=findings.model_dump(mode="json", exclude={"answer"}),
        ))
    return findings


def _look(backend: Backend, store: Scratchpad, target: ServiceTarget, now: datetime, window_minutes: int,
          offset_minutes: int, lookup: RecallLookup | str, recall_wait: float) -> Findings:
    end = now - timedelta(minutes=max(offset_minutes, 0))
    span = timedelta(minutes=max(window_minutes, 1))
    start = end - span
    events = backend.logs.error_events(target, start, end, None, 500)
    errors = group_errors(events)
    alarms = backend.incidents.active_alarms(target)
    topic = past.topic_of([g.signature for g in errors]) or [a.name for a in alarms]
    past.send(lookup, target.key, topic)
    current = MetricSummary.of(backend.metrics.observe(target, None, start, end, 60))
    previous = MetricSummary.of(backend.metrics.observe(target, None, start - span, start, 60))
    lineups = _line_up(backend, store, target, start - span, end)
    findings = Findings(service=target.key, environment=target.environment, window_start=start, window_end=end,
                        error_count=len(events), errors=errors[:10], current=current, previous=previous,
                        alarms=alarms, deployments=lineups, evidence=[], answer="")
    findings.recall = past.collect(lookup, topic, incident=_incident(findings), since=start,
                                   lined_up={d.deployment_id for d in lineups}, wait=recall_wait)
    return findings


def _incident(f: Findings) -> bool:
    """Something to match against past incidents: an alarm, errors that rose, or a deploy they rose after."""
    now, before = f.current.error_rate_percent or 0.0, f.previous.error_rate_percent or 0.0
    return bool(f.alarms) or now > max(2 * before, before + 1.0) or any(d.errors_rose_at for d in f.deployments)


def _line_up(backend: Backend, store: Scratchpad, target: ServiceTarget, since: datetime,
             until: datetime) -> list[DeploymentLineUp]:
    found: list[DeploymentLineUp] = []
    for dep in store.list_deployments(target.key, target.environment, limit=50):
        ended = dep.ended_at or until
        if dep.started_at > until or ended < since or dep.status == "dry_run":
            continue
        full = _reached_full_at(store, dep)
        rose = _errors_rose_at(backend, target, dep.started_at, until)
        found.append(DeploymentLineUp(
            deployment_id=dep.id, kind=dep.kind, from_version=dep.from_version, to_version=dep.to_version,
            status=dep.status, started_at=dep.started_at, reached_full_at=full, errors_rose_at=rose,
            note=_note(dep, full, rose)))
    return found


def _reached_full_at(store: Scratchpad, dep: DeploymentRecord) -> datetime | None:
    for event in store.events(dep.id):
        p = event.payload
        if event.kind == "rollout_progress" and p.get("old_running") == 0 and p.get("new_running") == p.get("desired"):
            return event.at
    return None


def _errors_rose_at(backend: Backend, target: ServiceTarget, since: datetime, until: datetime) -> datetime | None:
    """The first minute after `since` whose error rate clearly exceeds the 10 minutes before `since`."""
    before = backend.metrics.observe(target, None, since - timedelta(minutes=10), since, 60)
    base = before.error_rate_percent or 0.0
    limit = max(2 * base, base + 1.0)
    after = backend.metrics.observe(target, None, since, until, 60)
    for point in after.points:
        if point.requests and 100.0 * point.errors / point.requests > limit:
            return point.timestamp
    return None


def _minutes(delta: timedelta) -> str:
    value = round(delta.total_seconds() / 60)
    return f"{value} min"


def _note(dep: DeploymentRecord, full: datetime | None, rose: datetime | None) -> str:
    what = f"{dep.to_version}" + (" (rollback)" if dep.kind == "rollback" else "")
    if rose is None:
        return f"no rise in errors after {what} ({dep.status})"
    if full is not None and rose >= full:
        return f"errors rose {_minutes(rose - full)} after {what} reached 100%"
    if full is not None:
        return (f"errors rose during the rollout of {what}, {_minutes(full - rose)} before it reached 100%"
                f" ({_minutes(rose - dep.started_at)} after the deploy started)")
    return f"errors rose {_minutes(rose - dep.started_at)} after the deploy of {what} started"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}%"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} ms"


def _evidence(f: Findings) -> list[str]:
    items = [f"logs: {f.error_count} error events in {f.service} ({f.environment})",
             f"metrics: error rate, p99 and request rate, this window vs the {_minutes(f.window_end - f.window_start)} before",
             f"alarms: {len(f.alarms)} in ALARM"]
    items += [f"scratchpad: deployment {d.deployment_id} ({d.from_version or '?'} → {d.to_version}, {d.status})"
              for d in f.deployments]
    return items + past.evidence(f.recall)


def summarize(f: Findings) -> str:
    window = f"{f.window_start:%H:%M}–{f.window_end:%H:%M} UTC"
    lines = [f"{f.service} in {f.environment}, {window}: {f.error_count} error log events"
             + (f" in {len(f.errors)} signature(s)." if f.errors else ".")]
    for group in f.errors[:3]:
        lines.append(f"  • {group.count}× \"{group.signature}\" (first {group.first_seen:%H:%M:%S},"
                     f" last {group.last_seen:%H:%M:%S})")
    lines.append(f"Error rate {_pct(f.current.error_rate_percent)} (before: {_pct(f.previous.error_rate_percent)}),"
                 f" p99 {_ms(f.current.p99_ms)} (before: {_ms(f.previous.p99_ms)}),"
                 f" {f.current.requests_per_minute or 0:,.0f} req/min (before:"
                 f" {f.previous.requests_per_minute or 0:,.0f}).")
    if f.alarms:
        lines.append("Alarms: " + "; ".join(f"{a.name} ({a.reason})" for a in f.alarms))
    else:
        lines.append("No alarms in ALARM.")
    for dep in f.deployments:
        lines.append(f"Deployment {dep.deployment_id} {dep.from_version or '?'} → {dep.to_version}"
                     f" ({dep.status}): {dep.note}.")
    lines += past.answer_lines(f.recall)
    lines.append("Evidence: " + "; ".join(f.evidence) + ".")
    return "\n".join(lines)
