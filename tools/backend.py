"""What a backend is: one protocol per outside system, bundled in `Backend`.

The sandbox (`tools.sandbox`) implements these against a simulated fleet; the ECS backend
implements them with boto3. Skills only ever see these protocols.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from memory.errors import EXIT_FAILED, UserError
from tools.clock import Clock
from tools.config import RunbookConfig
from tools.models import (
    Alarm,
    CanaryInfo,
    HealthCheckInfo,
    Image,
    LogSearch,
    MetricWindow,
    RolloutStatus,
    SecretCheck,
    ServiceStatus,
    ServiceTarget,
    TaskDefinition,
    TaskHealth,
)


class BackendError(UserError):
    """Something the outside world refused; the message is one sentence for the user (exit 1)."""

    exit_code = EXIT_FAILED


class NotFound(BackendError):
    """A service, task definition, image or other resource does not exist."""


class AccessDenied(BackendError):
    """The caller lacks a permission; the message names it."""


class Platform(Protocol):
    """Where services run (ECS)."""

    label: str

    def describe_service(self, target: ServiceTarget) -> ServiceStatus: ...

    def current_task_definition(self, target: ServiceTarget) -> TaskDefinition: ...

    def task_definition(self, target: ServiceTarget, revision: int) -> TaskDefinition: ...

    def register_revision(self, target: ServiceTarget, base: TaskDefinition, image: Image) -> TaskDefinition:
        """A new revision equal to `base` except for the container image."""
        ...

    def register_definition(
        self, target: ServiceTarget, base: TaskDefinition, definition: dict[str, Any]
    ) -> TaskDefinition:
        """A new revision of `definition` (the JSON register-task-definition takes), with `base`'s tags unless it
        names its own; `base` is the running revision."""
        ...

    def start_canary(
        self, target: ServiceTarget, deployment_id: str, task_definition: TaskDefinition, count: int
    ) -> list[TaskHealth]:
        """Start (or, run again, resize) the canary of deployment `deployment_id`; other canaries are untouched."""
        ...

    def canary_tasks(self, target: ServiceTarget, deployment_id: str) -> list[TaskHealth]:
        """The tasks of that deployment's canary (empty when it has none)."""
        ...

    def remove_canary(self, target: ServiceTarget, deployment_id: str) -> None:
        """Stop and delete that deployment's canary; a no-op when there is none."""
        ...

    def list_canaries(self, target: ServiceTarget) -> list[CanaryInfo]:
        """Every runbook canary of the service, whichever deployment (or runbook database) started it."""
        ...

    def start_rollout(self, target: ServiceTarget, task_definition: TaskDefinition) -> None: ...

    def rollout_status(self, target: ServiceTarget) -> RolloutStatus:
        """How the last rollout goes; a FAILED one the platform rolls back by itself reports that rollback too."""
        ...

    def explain_failure(self, target: ServiceTarget, deployment_id: str | None = None) -> list[str]:
        """Why tasks of that deployment's canary (None: of the service) stopped or would not start, in the
        platform's words (e.g. CannotPullContainerError), one line each; read only after something failed."""
        ...

    def canary_warmup_seconds(self, target: ServiceTarget, task_definition: TaskDefinition) -> float:
        """How long after a canary task starts its health can first be judged: the grace and start periods
        and the time a new target needs to pass the load balancer's healthy threshold."""
        ...

    def load_balancer_health_check(self, target: ServiceTarget) -> HealthCheckInfo | None: ...


class Registry(Protocol):
    def find_image(self, repository: str, tag: str) -> Image | None: ...

    def recent_images(self, repository: str, limit: int = 10) -> list[Image]:
        """The repository's tagged images, most recently pushed first (what a person may deploy)."""
        ...


class Metrics(Protocol):
    def preflight(self, target: ServiceTarget) -> list[str]:
        """Why this service's canary could not be judged per version (empty: it can). Calls nothing that changes."""
        ...

    def observe(
        self,
        target: ServiceTarget,
        version: str | None,
        start: datetime,
        end: datetime,
        period_seconds: int = 10,
        slower_than_ms: Sequence[float] = (),
    ) -> MetricWindow:
        """Traffic served by `version` (None: the whole service) between start and end, per period.

        With `slower_than_ms`, every point also counts the requests slower than each of those latencies
        (`MetricPoint.slow_requests`, keyed by the latency asked for); a backend that cannot count them
        leaves them out, and the judge then cannot compare latency. The window says its period.
        """
        ...

    def observe_versions(
        self,
        target: ServiceTarget,
        versions: Sequence[str | None],
        start: datetime,
        end: datetime,
        period_seconds: int = 10,
        slower_than_ms: Sequence[float] = (),
    ) -> list[MetricWindow]:
        """`observe` for each version over the same window, in one read (one request on CloudWatch)."""
        ...

    def settle_seconds(self, target: ServiceTarget) -> float:
        """How long after a window ends its data is complete (0: at once). Metrics read sooner may be partial."""
        ...


class Logs(Protocol):
    def error_events(
        self, target: ServiceTarget, start: datetime, end: datetime, pattern: str | None = None, limit: int = 200
    ) -> LogSearch:
        """Error events between start and end (matching `pattern` if given): the newest `limit` of them,
        oldest first, and the true count over the whole window. Reading goes to the end of the window
        (a backend that pages keeps paging, empty pages included) up to a cap that it reports."""
        ...


class Incidents(Protocol):
    def active_alarms(self, target: ServiceTarget) -> list[Alarm]:
        """Alarms in ALARM that belong to the service."""
        ...


class Secrets(Protocol):
    def check_readable(self, name: str, reference: str) -> SecretCheck:
        """Whether the caller can read the secret; never returns or stores its value."""
        ...


@dataclass
class Backend:
    name: str
    platform: Platform
    registry: Registry
    metrics: Metrics
    logs: Logs
    incidents: Incidents
    secrets: Secrets
    clock: Clock
    on_close: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for callback in self.on_close:
            callback()


def target_for(config: RunbookConfig, service: str, environment: str | None) -> ServiceTarget:
    env_name, env = config.environment(environment)
    svc = config.service(service)
    return ServiceTarget(
        key=service, name=svc.service_name or service, environment=env_name, cluster=env.cluster, config=svc
    )
