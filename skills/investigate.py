"""Investigate a service over a window: errors by signature, metrics against the window before, alarms,
and the deployments from the scratchpad that line up in time; with ``recall`` (a starter of a background
lookup, see ``skills.investigate_recall``), similar past incidents and the runbook section to follow.
Deterministic; never changes anything.

    findings = investigate(backend, store, target, window_minutes=10, question="...")
    findings.answer      # a short answer citing the evidence
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from memory.outcome import Outcome
from memory.recall_lookup import RecallLookup
from memory.records import DeploymentRecord, InvestigationRecord
from memory.scratchpad import Scratchpad
from skills import investigate_recall as past
from skills.investigate_answer import evidence, next_steps, summarize
from skills.investigate_errors import (
    SCAN_LIMIT,
    Baseline,
    ErrorSignature,
    group_errors,
    mark_new,
    signature_of,
)
from skills.investigate_models import DeploymentLineUp, Findings, MetricSummary, NextStep
from tools.backend import Backend, BackendError
from tools.models import ServiceTarget

__all__ = ["ErrorSignature", "Findings", "NextStep", "group_errors", "investigate", "signature_of", "summarize"]
# a deploy that never reached the platform changes no error signature: it is no baseline
_NO_CHANGE = (Outcome.DRY_RUN, Outcome.REFUSED, Outcome.CHECKS_FAILED, Outcome.CONFIG_INVALID)

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
    findings.next_steps = next_steps(findings)
    findings.evidence = evidence(findings)
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
    search = backend.logs.error_events(target, start, end, None, SCAN_LIMIT)
    errors = group_errors(search.events, _task_versions(backend, target))
    alarms = backend.incidents.active_alarms(target)
    topic = past.topic_of([g.signature for g in errors]) or [a.name for a in alarms]
    past.send(lookup, target.key, topic)
    current = MetricSummary.of(backend.metrics.observe(target, None, start, end, 60))
    previous = MetricSummary.of(backend.metrics.observe(target, None, start - span, start, 60))
    lineups = _line_up(backend, store, target, start - span, end)
    baseline = _baseline(backend, store, target, start, end, errors)
    by_version: dict[str, int] = {}
    for group in errors:
        for version, count in group.by_version.items():
            by_version[version] = by_version.get(version, 0) + count
    findings = Findings(service=target.key, environment=target.environment, window_start=start, window_end=end,
                        error_count=search.total, errors_complete=search.complete, errors_note=search.note,
                        grouped=len(search.events), errors=errors[:10], by_version=by_version, baseline=baseline,
                        current=current, previous=previous, alarms=alarms, deployments=lineups, evidence=[], answer="")
    findings.recall = past.collect(lookup, topic, incident=_incident(findings), since=start,
                                   lined_up={d.deployment_id for d in lineups}, wait=recall_wait)
    return findings


def _task_versions(backend: Backend, target: ServiceTarget) -> dict[str, str]:
    """Task id → version, for log lines that carry only the task (the sandbox's carry the version)."""
    try:
        tasks = list(backend.platform.describe_service(target).tasks)
        for canary in backend.platform.list_canaries(target):
            if canary.deployment_id:
                tasks += backend.platform.canary_tasks(target, canary.deployment_id)
    except BackendError:
        return {}
    return {t.task_id: t.version for t in tasks}


def _baseline(backend: Backend, store: Scratchpad, target: ServiceTarget, start: datetime, end: datetime,
              errors: list[ErrorSignature]) -> Baseline | None:
    """The window "new" is measured against: as long as this one, ending when the last deploy (before the
    end of this window, within a day) started; else the window just before this one. Marks `errors`."""
    span = max(end - start, timedelta(minutes=10))
    last = next((d for d in store.list_deployments(target.key, target.environment, limit=20)
                 if d.status not in _NO_CHANGE and d.started_at <= end and end - d.started_at <= timedelta(days=1)),
                None)
    if last is not None:
        b_end = last.started_at
        label = (f"the {_minutes(span)} before deploy {last.id} ({last.from_version or '?'} → {last.to_version})"
                 " started")
    else:
        b_end = start
        label = f"the {_minutes(span)} before this window"
    try:
        found = backend.logs.error_events(target, b_end - span, b_end, None, SCAN_LIMIT)
    except BackendError:
        return None
    mark_new(errors, found.events)
    return Baseline(label=label, start=b_end - span, end=b_end, total=found.total,
                    deployment_id=last.id if last else None)


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


