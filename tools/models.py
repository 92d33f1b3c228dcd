"""Typed results of the tool functions: what every backend (sandbox, ECS, ...) returns."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from tools.config import ServiceConfig


class ServiceTarget(BaseModel):
    """One service in one environment: everything a backend needs to find it."""

    key: str  # the service's name in runbook.yaml
    name: str  # the platform's service name
    environment: str
    cluster: str
    config: ServiceConfig


class TaskHealth(BaseModel):
    task_id: str
    version: str
    status: Literal["PROVISIONING", "PENDING", "RUNNING", "STOPPING", "STOPPED"]
    health: Literal["HEALTHY", "UNHEALTHY", "UNKNOWN"]
    started_at: datetime | None = None
    registered: bool | None = None  # a target of the task is in the load balancer (None: it has none to look at)


class CanaryInfo(BaseModel):
    """A canary runbook started for one deployment, as the platform lists it."""

    deployment_id: str | None  # None: the platform shows no deployment for it (left by an older runbook)
    name: str  # the platform's name for it (ECS: the canary service)
    version: str | None = None
    desired: int = 0
    running: int = 0


class ServiceStatus(BaseModel):
    name: str
    cluster: str
    platform: str  # shown to people: "ECS", "sandbox ECS"
    desired: int
    running: int
    pending: int
    version: str  # the stable version, read from the image tag
    task_definition: str  # "family:revision"
    image: str
    last_deployed_at: datetime | None = None
    tasks: list[TaskHealth] = Field(default_factory=list)
    deployment_in_progress: bool = False  # the platform itself reports a rollout under way
    deployment_controller: str = "ECS"  # who rolls out new revisions: ECS (rolling update), CODE_DEPLOY, EXTERNAL
    health_check_grace_seconds: int = 0  # load balancer health checks are ignored this long after a task starts

    @property
    def revision(self) -> int:
        """The running task definition's revision (task_definition is "family:revision")."""
        return int(self.task_definition.rsplit(":", 1)[1])

    @property
    def healthy_tasks(self) -> int:
        return sum(1 for t in self.tasks if t.status == "RUNNING" and t.health == "HEALTHY")


class HealthCheckInfo(BaseModel):
    path: str | None = None
    protocol: str = "HTTP"
    interval_seconds: int = 30
    command: list[str] = Field(default_factory=list)
    healthy_threshold: int = 1  # consecutive passes before a new target counts as healthy (load balancers)
    start_period_seconds: int = 0  # failures in this time after start do not count (container checks)


class TaskDefinition(BaseModel):
    family: str
    revision: int
    container: str
    image: str
    version: str
    cpu: int  # CPU units
    memory_mb: int
    environment: dict[str, str] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict)  # env name -> reference (never a value)
    ports: list[str] = Field(default_factory=list)  # the container's port mappings, "8080/tcp"
    health_check: HealthCheckInfo | None = None
    arn: str | None = None

    @property
    def ref(self) -> str:
        return f"{self.family}:{self.revision}"


class Image(BaseModel):
    repository: str
    tag: str
    uri: str
    digest: str
    size_bytes: int
    pushed_at: datetime

    @property
    def pinned(self) -> str:
        """The reference that runs exactly these bytes, as ECS records it: `repo:tag@sha256:…`."""
        return f"{self.repository}:{self.tag}@{self.digest}"


class RolloutStatus(BaseModel):
    state: Literal["IN_PROGRESS", "COMPLETED", "FAILED"]
    desired: int
    new_running: int
    old_running: int
    reason: str | None = None
    # A FAILED rollout the platform is rolling back by itself (ECS's deployment circuit breaker): that
    # rollback's own state, and the revision it returns to ("family:revision").
    platform_rollback: Literal["IN_PROGRESS", "COMPLETED", "FAILED"] | None = None
    rolled_back_to: str | None = None


class MetricPoint(BaseModel):
    timestamp: datetime  # the start of the period
    requests: int
    errors: int
    p99_ms: float | None = None
    # Requests slower than each latency asked for (`Metrics.observe(..., slower_than_ms=...)`), in ms.
    slow_requests: dict[float, int] = Field(default_factory=dict)


class MetricWindow(BaseModel):
    """Requests, errors and p99 latency of one version (or the whole service) over a window."""

    version: str | None  # None: every version of the service together
    start: datetime
    end: datetime
    points: list[MetricPoint] = Field(default_factory=list)
    period_seconds: int | None = None  # how long each point's period is (None: not said)

    def slow(self, threshold_ms: float) -> int | None:
        """Requests slower than `threshold_ms` over the window; None when the backend did not count them."""
        counts = [p.slow_requests.get(threshold_ms) for p in self.points if p.requests]
        if not counts or any(c is None for c in counts):
            return None
        return sum(c for c in counts if c is not None)

    @property
    def requests(self) -> int:
        return sum(p.requests for p in self.points)

    @property
    def errors(self) -> int:
        return sum(p.errors for p in self.points)

    @property
    def error_rate_percent(self) -> float | None:
        return None if self.requests == 0 else 100.0 * self.errors / self.requests

    @property
    def p99_ms(self) -> float | None:
        """Request-weighted mean of the per-period p99s (periods with traffic only)."""
        weighted = [(p.p99_ms, p.requests) for p in self.points if p.p99_ms is not None and p.requests]
        total = sum(w for _, w in weighted)
        return None if not total else sum(v * w for v, w in weighted) / total

    @property
    def requests_per_minute(self) -> float | None:
        seconds = (self.end - self.start).total_seconds()
        return None if seconds <= 0 or not self.points else self.requests * 60.0 / seconds


class LogEvent(BaseModel):
    timestamp: datetime
    message: str
    level: str = "ERROR"
    task_id: str | None = None
    version: str | None = None


class LogSearch(BaseModel):
    """The error events of a window: the newest `limit` of them, and how many there were in all."""

    events: list[LogEvent] = Field(default_factory=list)  # the newest matches, oldest first
    total: int = 0  # every match counted over the window (a lower bound when not `complete`)
    complete: bool = True  # False: reading stopped at a cap before the end of the window
    note: str = ""  # why reading stopped, in a few words ("stopped after 10,000 events")

    @property
    def shown(self) -> str:
        """The count as a person should read it: "547", or "at least 10,000" when reading stopped."""
        return f"{self.total:,}" if self.complete else f"at least {self.total:,}"


class Alarm(BaseModel):
    name: str
    state: Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
    reason: str = ""
    description: str = ""
    since: datetime | None = None


class SecretCheck(BaseModel):
    name: str  # the env var the secret lands in
    reference: str  # ARN / parameter name; never the value
    readable: bool
    reason: str | None = None
