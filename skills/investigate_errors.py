"""Error log events as an SRE reads them: grouped by signature (ids and numbers blanked out), counted
truly (not the first page), split by version, and marked new or seen before (in a baseline window: the
one before the last deploy, else the one before this window)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, Field

from tools.models import LogEvent

SCAN_LIMIT = 5000  # events read per window to group; the count itself covers the whole window
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
    by_version: dict[str, int] = Field(default_factory=dict)  # count per version ("?" when unknown)
    new: bool | None = None  # True: not in the baseline window; False: seen there too; None: not compared
    before: int = 0  # how many times in the baseline window


class Baseline(BaseModel):
    """What "new" is relative to."""

    label: str  # "the 15 min before deploy dep-… (1.2.2 → 1.2.4) started"
    start: datetime
    end: datetime
    total: int
    deployment_id: str | None = None


def signature_of(message: str) -> str:
    for pattern, replacement in _NOISE:
        message = pattern.sub(replacement, message)
    return message.strip()


def group_errors(events: Iterable[LogEvent], versions_of_tasks: dict[str, str] | None = None) -> list[ErrorSignature]:
    """Signatures by count (most first), each split by version. `versions_of_tasks` names the version of
    a task for backends whose log lines carry only the task id (CloudWatch)."""
    groups: dict[str, ErrorSignature] = {}
    tasks = versions_of_tasks or {}
    for event in sorted(events, key=lambda e: e.timestamp):
        key = signature_of(event.message)
        version = event.version or (tasks.get(event.task_id or "") if event.task_id else None) or "?"
        group = groups.get(key)
        if group is None:
            group = groups[key] = ErrorSignature(signature=key, example=event.message, count=0,
                                                 first_seen=event.timestamp, last_seen=event.timestamp)
        group.count += 1
        group.last_seen = event.timestamp
        group.by_version[version] = group.by_version.get(version, 0) + 1
        if version != "?" and version not in group.versions:
            group.versions.append(version)
    return sorted(groups.values(), key=lambda g: (-g.count, g.first_seen))


def mark_new(groups: list[ErrorSignature], baseline_events: Iterable[LogEvent]) -> None:
    """Mark each signature new or seen in the baseline window."""
    before: dict[str, int] = {}
    for event in baseline_events:
        key = signature_of(event.message)
        before[key] = before.get(key, 0) + 1
    for group in groups:
        group.before = before.get(group.signature, 0)
        group.new = group.before == 0


def by_version_text(group: ErrorSignature) -> str:
    """"1.2.4: 612, 1.2.2: 11" (most first); "" when every line had one unknown version."""
    known = {v: n for v, n in group.by_version.items() if v != "?"}
    if not known:
        return ""
    return ", ".join(f"{v}: {n:,}" for v, n in sorted(group.by_version.items(), key=lambda kv: -kv[1]))
