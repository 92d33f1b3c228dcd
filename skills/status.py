"""Status of services per environment: version, task health, recent deploys, alarms. Read-only."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from memory.outcome import Outcome
from memory.records import DeploymentRecord
from skills.resources import Resources
from tools.backend import BackendError, target_for
from tools.models import Alarm


class DeploySummary(BaseModel):
    id: str
    kind: str
    from_version: str | None
    to_version: str
    status: str
    requester: str
    approver: str | None
    started_at: datetime

    @classmethod
    def of(cls, record: DeploymentRecord) -> DeploySummary:
        return cls(id=record.id, kind=record.kind, from_version=record.from_version, to_version=record.to_version,
                   status=record.status, requester=record.requester, approver=record.approver,
                   started_at=record.started_at)


class ServiceReport(BaseModel):
    service: str
    environment: str
    platform: str = ""
    version: str = "?"
    desired: int = 0
    running: int = 0
    healthy: int = 0
    deployment_in_progress: bool = False
    canary_tasks: int = 0
    alarms: list[Alarm] = Field(default_factory=list)
    recent_deploys: list[DeploySummary] = Field(default_factory=list)
    error: str | None = None  # the backend could not be read

    @property
    def healthy_overall(self) -> bool:
        return self.error is None and not self.alarms and self.desired > 0 and self.healthy == self.desired

    def line(self) -> str:
        if self.error:
            return f"{self.service} ({self.environment}): unknown — {self.error}"
        state = "healthy" if self.healthy_overall else "NOT healthy"
        parts = [f"{self.service} ({self.environment}): {self.version}, {self.healthy}/{self.desired} tasks healthy,"
                 f" {state}"]
        if self.canary_tasks:
            parts.append(f"canary running ({self.canary_tasks} task(s))")
        if self.deployment_in_progress:
            parts.append("deployment in progress")
        if self.alarms:
            parts.append("alarms: " + ", ".join(a.name for a in self.alarms))
        last = next((d for d in self.recent_deploys if changed_something(d.status)), None)
        if last is not None:
            versions = f"{last.from_version} → {last.to_version}" if last.from_version else last.to_version
            parts.append(f"last deploy {versions} {last.status} ({last.started_at:%Y-%m-%d %H:%M} UTC, {last.id})")
        return "; ".join(parts)


def changed_something(status: str) -> bool:
    """Whether a deployment with this status touched the service (a refused or dry run is no "last deploy")."""
    try:
        return not Outcome(status).changed_nothing
    except ValueError:
        return True  # "running" and the like: a deploy under way is one


def service_status(resources: Resources, service: str | None = None, environment: str | None = None,
                   recent: int = 3) -> list[ServiceReport]:
    """One report per (service, environment); all of them when a name is None."""
    config = resources.config
    services = [service] if service else sorted(config.services)
    for name in services:
        config.service(name)
    environments = [config.environment(environment)[0]] if environment else sorted(config.environments)
    reports: list[ServiceReport] = []
    for env_name in environments:
        backend = resources.backend(env_name)
        for name in services:
            reports.append(_report(config, backend, resources.store, name, env_name, recent))
    return reports


def _report(config, backend, store, service: str, environment: str, recent: int) -> ServiceReport:  # type: ignore[no-untyped-def]
    target = target_for(config, service, environment)
    report = ServiceReport(service=service, environment=environment)
    report.recent_deploys = [DeploySummary.of(d) for d in store.list_deployments(service, environment, limit=recent)]
    try:
        status = backend.platform.describe_service(target)
        report.platform = status.platform
        report.version = status.version
        report.desired, report.running, report.healthy = status.desired, status.running, status.healthy_tasks
        report.deployment_in_progress = status.deployment_in_progress
        report.canary_tasks = sum(c.running for c in backend.platform.list_canaries(target))
        report.alarms = backend.incidents.active_alarms(target)
    except BackendError as exc:
        report.error = str(exc)
    return report


def render_reports(reports: list[ServiceReport]) -> str:
    if not reports:
        return "No services configured."
    return "\n".join(r.line() for r in reports)
