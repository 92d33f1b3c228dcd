"""Typed events: the only way a skill reports what it does.

Skills never print. Renderers in `agent.render` turn these events into the rich terminal view,
plain text, JSON lines or Slack thread updates; the scratchpad stores every one of them.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter

from memory.outcome import Outcome


class _Event(BaseModel):
    deployment_id: str = ""
    at: datetime | None = None


class DeployStarted(_Event):
    kind: Literal["deploy_started"] = "deploy_started"
    service: str
    environment: str
    version: str
    requester: str
    total_steps: int
    dry_run: bool = False
    auto_rollback: bool = False
    backend: str = ""  # "sandbox" (a simulated fleet) or "ecs"
    config: str = ""  # the config file used, as shown to the person ("<built-in sandbox>" for none)


class StepStarted(_Event):
    kind: Literal["step_started"] = "step_started"
    number: int
    total: int
    title: str


class Progress(_Event):
    """A line of work under way: "→ Checking service exists..."."""

    kind: Literal["progress"] = "progress"
    message: str


class CheckPassed(_Event):
    kind: Literal["check_passed"] = "check_passed"
    check: str
    message: str
    details: list[str] = Field(default_factory=list)


class CheckFailed(_Event):
    kind: Literal["check_failed"] = "check_failed"
    check: str
    message: str
    details: list[str] = Field(default_factory=list)


class ConfigChange(BaseModel):
    field: str  # "Image", "Memory", "CPU", "Environment"
    before: str
    after: str

    @property
    def changed(self) -> bool:
        return self.before != self.after


class TaskDefinitionDiff(_Event):
    kind: Literal["task_definition_diff"] = "task_definition_diff"
    changes: list[ConfigChange]


class HealthCheckResult(_Event):
    kind: Literal["health_check"] = "health_check"
    index: int
    total: int
    healthy: bool
    detail: str = ""


Verdict = Literal["healthy", "unhealthy", "inconclusive"]


class MetricReading(BaseModel):
    name: str  # "Error Rate", "Latency (p99)", "Request Rate", "Health Checks"
    unit: str  # "%", "ms", "/min", ""
    value: float | None  # None: no data
    threshold: float | None = None
    baseline: float | None = None  # the stable version (canary) or the "before" window (validation)
    ok: bool | None = None  # None: inconclusive
    verdict: str = ""  # "healthy", "inconclusive", "improved", "degraded", "stable", "no data", ...
    series: list[float] = Field(default_factory=list)
    detail: str = ""  # what was judged: "1.1% slower than 180ms (stable 1.0%)"


class MoreEvidence(BaseModel):
    """How much more canary traffic one verdict needs if the canary is what that verdict says:
    "about N more canary requests (≈ M min at the current rate)"."""

    verdict: Literal["healthy", "unhealthy"]
    requests: int | None  # None: cannot be estimated yet (no traffic)
    minutes: float | None = None  # at the canary's request rate so far
    goal: str = ""  # "to show it healthy", "to catch a 2x regression"
    assumption: str = ""  # what the estimate assumes: "it is no worse than stable", "it is 2x worse than stable"


def about(count: float) -> str:
    """A count as people say it: 1,873 -> "1,900", 84 -> "80"."""
    if count < 10:
        return str(max(1, round(count)))
    digits = 10 ** max(0, int(math.log10(count)) - 1)
    return f"{round(count / digits) * digits:,}"


def span_of(seconds: float) -> str:
    """An observation's length: "60s", "12 min"."""
    whole = round(seconds)
    return f"{whole // 60} min" if whole >= 120 else f"{whole}s"


def more_sentences(more: list[MoreEvidence]) -> list[str]:
    """"To show it healthy: about 1,900 more canary requests (≈ 17 min at the current rate)"."""
    out = []
    for item in more:
        goal = item.goal or ("to show it healthy" if item.verdict == "healthy" else "to show it unhealthy")
        goal = goal[:1].upper() + goal[1:]
        if item.requests is None:
            out.append(f"{goal}: not enough canary traffic yet to tell how long")
            continue
        minutes = "" if item.minutes is None else f" (≈ {max(1, round(item.minutes))} min at the current rate)"
        out.append(f"{goal}: about {about(item.requests)} more canary requests{minutes}")
    return out


class MetricsObserved(_Event):
    """Metrics so far in an observation window; `final` marks the judged reading. Canary readings are
    cumulative since the end of the health checks, and carry the verdict so far."""

    kind: Literal["metrics_observed"] = "metrics_observed"
    phase: Literal["canary", "validation", "approval_wait"]
    elapsed_seconds: float
    window_seconds: float
    readings: list[MetricReading]
    final: bool = False
    verdict: Verdict | None = None
    more: list[MoreEvidence] = Field(default_factory=list)
    canary_requests: int | None = None  # judged so far (canary phases)


class CanaryJudged(_Event):
    kind: Literal["canary_judged"] = "canary_judged"
    verdict: Verdict
    reasons: list[str] = Field(default_factory=list)
    observed_seconds: float
    more: list[MoreEvidence] = Field(default_factory=list)
    canary_requests: int | None = None
    alpha: float | None = None


class CanaryVerdictChanged(_Event):
    """While waiting for approval, the accumulated evidence changed the canary's verdict."""

    kind: Literal["canary_verdict_changed"] = "canary_verdict_changed"
    verdict: Verdict
    previous: Verdict
    reasons: list[str] = Field(default_factory=list)
    observed_seconds: float
    canary_requests: int | None = None
    more: list[MoreEvidence] = Field(default_factory=list)
    summary: list[str] = Field(default_factory=list)  # the approval request's canary lines, as they read now


class ApprovalRequested(_Event):
    kind: Literal["approval_requested"] = "approval_requested"
    request_id: str
    operation: str
    risk: str
    environment: str
    service: str
    from_version: str
    to_version: str
    image_digest: str
    requester: str
    canary_summary: list[str]
    changes: list[str]
    rollback_command: str
    expires_at: datetime
    channels: list[str]  # where the request was sent: "terminal", "slack:#runbook-approvals"
    how_to_decide: list[str] = Field(default_factory=list)
    canary_verdict: Verdict | None = None  # "inconclusive": approving now is an override
    canary_more: list[MoreEvidence] = Field(default_factory=list)


class ApprovalDecided(_Event):
    kind: Literal["approval_decided"] = "approval_decided"
    request_id: str
    decision: Literal["approved", "denied", "expired", "aborted"]
    by: str | None = None
    decided_at: datetime | None = None
    reason: str = ""
    override: bool = False  # approved while the canary was inconclusive


class RolloutProgress(_Event):
    kind: Literal["rollout_progress"] = "rollout_progress"
    desired: int
    new_running: int
    old_running: int
    elapsed_seconds: float
    state: Literal["IN_PROGRESS", "COMPLETED", "FAILED"] = "IN_PROGRESS"


class StepFinished(_Event):
    kind: Literal["step_finished"] = "step_finished"
    number: int
    ok: bool
    message: str


class RollbackStarted(_Event):
    kind: Literal["rollback_started"] = "rollback_started"
    from_version: str
    to_version: str
    reason: str


class RollbackFinished(_Event):
    kind: Literal["rollback_finished"] = "rollback_finished"
    from_version: str
    to_version: str
    ok: bool
    message: str = ""


class DeployFinished(_Event):
    kind: Literal["deploy_finished"] = "deploy_finished"
    outcome: Outcome
    exit_code: int
    headline: str
    service: str
    environment: str
    from_version: str | None = None
    to_version: str
    duration_seconds: float = 0.0
    tasks: int | None = None
    observations: list[str] = Field(default_factory=list)  # "Error rate: 0.5% → 0.03% (94% reduction)"
    rollback_command: str | None = None
    next_steps: list[str] = Field(default_factory=list)
    logged: bool = True


Event = Annotated[
    DeployStarted | StepStarted | Progress | CheckPassed | CheckFailed | TaskDefinitionDiff
    | HealthCheckResult | MetricsObserved | CanaryJudged | CanaryVerdictChanged | ApprovalRequested
    | ApprovalDecided
    | RolloutProgress | StepFinished | RollbackStarted | RollbackFinished | DeployFinished,
    Field(discriminator="kind"),
]

event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def parse_event(data: dict | str) -> Event:
    """An event back from its JSON form (scratchpad rows, `--output json` lines)."""
    if isinstance(data, str):
        return event_adapter.validate_json(data)
    return event_adapter.validate_python(data)
