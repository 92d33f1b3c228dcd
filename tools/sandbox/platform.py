"""The sandbox's `Platform`: services, task definitions, canaries and rolling updates."""

from __future__ import annotations

from typing import Any

from tools.backend import BackendError
from tools.models import (
    CanaryInfo,
    HealthCheckInfo,
    Image,
    RolloutStatus,
    ServiceStatus,
    ServiceTarget,
    TaskDefinition,
    TaskHealth,
)
from tools.sandbox.fleet import (
    ROLLOUT_BATCHES,
    SandboxFleet,
    find_cluster,
    find_task_definition,
    plan_rollout,
    record_tasks,
)
from tools.sandbox.seed import short_id
from tools.sandbox.state import ServiceState, TaskRecord
from tools.task_definitions import to_model


def _health(task: TaskRecord) -> TaskHealth:
    return TaskHealth(
        task_id=task.task_id,
        version=task.version,
        status="RUNNING",
        health="HEALTHY",
        started_at=task.started_at,
    )


class SandboxPlatform:
    label = "sandbox ECS"

    def __init__(self, fleet: SandboxFleet) -> None:
        self.fleet = fleet

    def describe_service(self, target: ServiceTarget) -> ServiceStatus:
        state, service = self.fleet.service(target)
        primary = find_task_definition(state, service.cluster, service.family, service.primary_revision)
        return ServiceStatus(
            name=service.name,
            cluster=service.cluster,
            platform=self.label,
            desired=service.desired,
            running=len(service.tasks),
            pending=0,
            version=primary.version,
            task_definition=primary.ref,
            image=primary.image,
            last_deployed_at=service.last_deployed_at,
            tasks=[_health(t) for t in service.tasks],
            deployment_in_progress=_rolling(service),
        )

    def current_task_definition(self, target: ServiceTarget) -> TaskDefinition:
        state, service = self.fleet.service(target)
        return find_task_definition(
            state, service.cluster, service.family, service.primary_revision
        ).model_copy()

    def task_definition(self, target: ServiceTarget, revision: int) -> TaskDefinition:
        state, service = self.fleet.service(target)
        return find_task_definition(state, service.cluster, service.family, revision).model_copy()

    def register_revision(self, target: ServiceTarget, base: TaskDefinition, image: Image) -> TaskDefinition:
        with self.fleet.change_service(target) as (state, service, _now):
            revisions = find_cluster(state, service.cluster).task_definitions.setdefault(base.family, [])
            revision = max((d.revision for d in revisions), default=0) + 1
            arn = base.arn.rsplit(":", 1)[0] + f":{revision}" if base.arn else None
            definition = base.model_copy(
                deep=True, update={"revision": revision, "image": image.pinned, "version": image.tag, "arn": arn}
            )
            revisions.append(definition)
            return definition.model_copy()

    def register_definition(
        self, target: ServiceTarget, base: TaskDefinition, definition: dict[str, Any]
    ) -> TaskDefinition:
        parsed = to_model(definition, target.config.container)
        with self.fleet.change_service(target) as (state, service, _now):
            revisions = find_cluster(state, service.cluster).task_definitions.setdefault(parsed.family, [])
            revision = max((d.revision for d in revisions), default=0) + 1
            arn = base.arn.rsplit("/", 1)[0] + f"/{parsed.family}:{revision}" if base.arn else None
            registered = parsed.model_copy(update={"revision": revision, "arn": arn})
            revisions.append(registered)
            return registered.model_copy()

    def start_canary(
        self, target: ServiceTarget, deployment_id: str, task_definition: TaskDefinition, count: int
    ) -> list[TaskHealth]:
        if count < 1:
            raise BackendError(f"A canary needs at least one task, got {count}.")
        with self.fleet.change_service(target) as (state, service, now):
            definition = find_task_definition(
                state, service.cluster, service.family, task_definition.revision
            )
            mine = [
                TaskRecord(
                    task_id=f"{service.name}-canary-"
                    + short_id(state.seed, service.cluster, definition.ref, now.isoformat(), i, length=6),
                    revision=definition.revision,
                    version=definition.version,
                    started_at=now,
                    deployment_id=deployment_id,
                )
                for i in range(count)
            ]
            service.canary = [t for t in service.canary if t.deployment_id != deployment_id] + mine
            record_tasks(service, now)
            return [_health(t) for t in mine]

    def canary_tasks(self, target: ServiceTarget, deployment_id: str) -> list[TaskHealth]:
        _state, service = self.fleet.service(target)
        return [_health(t) for t in service.canary if t.deployment_id == deployment_id]

    def remove_canary(self, target: ServiceTarget, deployment_id: str) -> None:
        _state, service = self.fleet.service(target)
        if not any(t.deployment_id == deployment_id for t in service.canary):
            return
        with self.fleet.change_service(target) as (_state, service, now):
            service.canary = [t for t in service.canary if t.deployment_id != deployment_id]
            record_tasks(service, now)

    def list_canaries(self, target: ServiceTarget) -> list[CanaryInfo]:
        _state, service = self.fleet.service(target)
        by_deployment: dict[str | None, list[TaskRecord]] = {}
        for task in service.canary:
            by_deployment.setdefault(task.deployment_id, []).append(task)
        return [
            CanaryInfo(
                deployment_id=deployment_id,
                name=f"{service.name}-canary" + (f"-{deployment_id.removeprefix('dep-')}" if deployment_id else ""),
                version=tasks[0].version,
                desired=len(tasks),
                running=len(tasks),
            )
            for deployment_id, tasks in by_deployment.items()
        ]

    def start_rollout(self, target: ServiceTarget, task_definition: TaskDefinition) -> None:
        with self.fleet.change_service(target) as (state, service, now):
            definition = find_task_definition(
                state, service.cluster, service.family, task_definition.revision
            )
            service.rollout = plan_rollout(service, definition, now)

    def rollout_status(self, target: ServiceTarget) -> RolloutStatus:
        _state, service = self.fleet.service(target)
        rollout = service.rollout
        revision = rollout.revision if rollout else service.primary_revision
        new = sum(1 for t in service.tasks if t.revision == revision)
        old = len(service.tasks) - new
        if rollout is None:
            return RolloutStatus(state="COMPLETED", desired=service.desired, new_running=new, old_running=old)
        if rollout.state == "IN_PROGRESS":
            reason = (
                f"batch {rollout.applied}/{ROLLOUT_BATCHES}: {new} of {rollout.desired} tasks on"
                f" {service.family}:{rollout.revision}"
            )
        else:
            reason = f"{service.family}:{rollout.revision} serves all {rollout.desired} tasks"
        return RolloutStatus(
            state=rollout.state, desired=rollout.desired, new_running=new, old_running=old, reason=reason
        )

    def explain_failure(self, target: ServiceTarget, deployment_id: str | None = None) -> list[str]:
        self.fleet.service(target)
        return []  # sandbox tasks never fail to start

    def canary_warmup_seconds(self, target: ServiceTarget, task_definition: TaskDefinition) -> float:
        return 0.0  # sandbox tasks are healthy as soon as they run

    def load_balancer_health_check(self, target: ServiceTarget) -> HealthCheckInfo | None:
        self.fleet.service(target)  # NotFound for an unknown service, like the real thing
        check = target.config.health_check
        return HealthCheckInfo(
            path=check.path, protocol=check.protocol, interval_seconds=check.interval_seconds
        )


def _rolling(service: ServiceState) -> bool:
    return service.rollout is not None and service.rollout.state == "IN_PROGRESS"
