"""What an investigation found: the typed findings, stored with the investigation in the scratchpad."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from skills import investigate_recall as past
from skills.investigate_errors import Baseline, ErrorSignature
from tools.models import Alarm, MetricWindow


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


class NextStep(BaseModel):
    text: str  # what to do and why, one sentence
    command: str | None = None  # the command that does it


class Findings(BaseModel):
    service: str
    environment: str
    window_start: datetime
    window_end: datetime
    error_count: int  # every error event in the window (a lower bound when not errors_complete)
    errors_complete: bool = True
    errors_note: str = ""  # why counting stopped early
    grouped: int = 0  # how many of them the signatures were counted from (the newest, when fewer)
    errors: list[ErrorSignature]
    by_version: dict[str, int] = Field(default_factory=dict)  # error events per version
    baseline: Baseline | None = None  # what "new" signatures are new relative to
    current: MetricSummary
    previous: MetricSummary
    alarms: list[Alarm]
    deployments: list[DeploymentLineUp]
    recall: past.RecallFindings | None = None  # None: no incident to match (no alarm, no rise in errors)
    next_steps: list[NextStep] = Field(default_factory=list)
    evidence: list[str]  # what the answer rests on, named
    answer: str
