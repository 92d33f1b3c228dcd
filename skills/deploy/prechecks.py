"""Step 1: pre-deployment checks. Nothing here changes the fleet; the only write is the deploy lock."""

from __future__ import annotations

from datetime import datetime

from memory.outcome import Outcome
from memory.recall_lookup import RecallLookup
from memory.records import LockHeld
from skills.deploy.context import LOCK_TTL_SECONDS, DeployContext, DeployState
from skills.deploy.knowledge import show_deploy_runbook, start_deploy_runbook_lookup
from skills.events import CheckFailed, CheckPassed, Progress, StepFinished, StepStarted
from tools.backend import BackendError

__all__ = ["LOCK_TTL_SECONDS", "run_prechecks"]


def _mb(size_bytes: int) -> str:
    return f"{size_bytes / 1_000_000:.0f} MB"


def _when(value: datetime | None) -> str:
    return "unknown" if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


def run_prechecks(ctx: DeployContext, state: DeployState, total_steps: int) -> DeployState:
    ctx.emit(StepStarted(number=1, total=total_steps, title="Pre-deployment Checks"))
    hint = start_deploy_runbook_lookup(ctx)  # beside the checks; read when they pass
    try:
        return _checks(ctx, hint)
    finally:
        if hint is not None:
            hint.close()


def _checks(ctx: DeployContext, hint: RecallLookup | None) -> DeployState:
    req, target, backend = ctx.request, ctx.target, ctx.backend

    def fail(check: str, message: str, details: list[str] | None = None,
             outcome: Outcome = Outcome.CHECKS_FAILED) -> DeployState:
        ctx.emit(CheckFailed(check=check, message=message, details=details or []))
        ctx.emit(StepFinished(number=1, ok=False, message="Pre-deployment checks failed"))
        return {"failure": message, "outcome": outcome}

    ctx.emit(Progress(message="Checking service exists..."))
    try:
        service = backend.platform.describe_service(target)
        current_td = backend.platform.current_task_definition(target)
    except BackendError as exc:
        return fail("service_exists", str(exc))
    ctx.emit(CheckPassed(
        check="service_exists",
        message=f"Service found: {service.name} ({backend.platform.label}, {service.cluster} cluster)",
    ))

    ctx.emit(Progress(message="Checking current version..."))
    healthy = service.healthy_tasks
    all_healthy = healthy == service.running and service.running >= service.desired > 0
    health_text = "all healthy" if all_healthy else f"{healthy} healthy"
    details = [f"Running: {service.running} tasks, {health_text}", f"Last deployed: {_when(service.last_deployed_at)}"]
    if service.version == req.version:
        return fail(
            "current_version",
            f"{target.key} {req.version} is already running in {target.environment}; nothing to deploy.",
            details, outcome=Outcome.REFUSED,
        )
    ctx.emit(CheckPassed(check="current_version", message=f"Current version: {service.version}", details=details))

    ctx.emit(Progress(message="Checking target image..."))
    try:
        image = backend.registry.find_image(target.config.image_repository, req.version)
    except BackendError as exc:
        return fail("target_image", str(exc))
    if image is None:
        return fail(
            "target_image",
            f"Image {target.config.image_repository}:{req.version} does not exist in the registry.",
        )
    ctx.emit(CheckPassed(
        check="target_image",
        message=f"Image exists: {image.uri}",
        details=[f"Pushed: {_when(image.pushed_at)}", f"Size: {_mb(image.size_bytes)}", f"Digest: {image.digest}"],
    ))

    ctx.emit(Progress(message="Checking for incidents..."))
    alarms = backend.incidents.active_alarms(target)
    if alarms:
        return fail(
            "incidents",
            f"{len(alarms)} active alarm{'s' if len(alarms) > 1 else ''} on {target.key}:"
            f" {', '.join(a.name for a in alarms)}; resolve {'them' if len(alarms) > 1 else 'it'} before deploying.",
            [f"{a.name}: {a.reason}" for a in alarms if a.reason],
        )
    ctx.emit(CheckPassed(check="incidents", message=f"No active incidents affecting {target.key}"))

    ctx.emit(Progress(message="Checking for ongoing deployments..."))
    if service.deployment_in_progress:
        return fail("deployment_lock", f"{target.key} already has a rollout in progress on the platform.")
    try:
        ctx.store.acquire_lock(ctx.lock_key, ctx.holder, req.deployment_id, ctx.wall_now(), LOCK_TTL_SECONDS)
    except LockHeld as held:
        lock = held.lock
        return fail(
            "deployment_lock",
            f"Another deploy of {target.key} to {target.environment} is in progress: {lock.deployment_id},"
            f" held by {lock.holder} since {lock.acquired_at:%Y-%m-%d %H:%M:%S} UTC.",
        )
    ctx.emit(CheckPassed(check="deployment_lock", message="No deployments in progress"))

    ctx.emit(Progress(message="Checking rollback availability..."))
    rollback_image = backend.registry.find_image(target.config.image_repository, service.version)
    if rollback_image is None:
        return fail(
            "rollback_target",
            f"No rollback target: image {target.config.image_repository}:{service.version} is gone from the registry.",
        ) | {"lock_acquired": True}
    ctx.emit(CheckPassed(
        check="rollback_target",
        message=f"Rollback target: {service.version} ({'healthy' if all_healthy else 'degraded'})",
    ))
    show_deploy_runbook(ctx, hint)
    ctx.emit(StepFinished(number=1, ok=True, message="All pre-deployment checks passed"))
    return {
        "lock_acquired": True,
        "from_version": service.version,
        "from_revision": current_td.revision,
        "desired": service.desired,
        "image": image.model_dump(mode="json"),
    }
