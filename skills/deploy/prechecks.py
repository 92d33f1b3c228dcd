"""Step 1: pre-deployment checks. Nothing here changes the fleet; the only write is the deploy lock."""

from __future__ import annotations

from datetime import datetime

from memory.outcome import Outcome
from memory.records import LockHeld, LockRecord
from skills.deploy.context import LOCK_TTL_SECONDS, DeployContext, DeployState
from skills.deploy.knowledge import show_deploy_runbook, start_deploy_runbook_lookup
from skills.deploy.liveness import Liveness, liveness
from skills.deploy.way_back import WayBack, find_way_back, raised_since, ran_as
from skills.events import CheckFailed, CheckPassed, Progress, StepFinished, StepStarted
from tools.backend import BackendError

__all__ = ["LOCK_TTL_SECONDS", "run_prechecks"]


# Services whose rollouts ECS does not run itself: UpdateService cannot change their task definition.
CONTROLLERS = {
    "CODE_DEPLOY": "{service} is deployed by CodeDeploy (deployment controller CODE_DEPLOY), which ECS does not let"
                   " UpdateService change, so runbook cannot roll it out; deploy it through CodeDeploy or switch"
                   " the service to the ECS controller.",
    "EXTERNAL": "{service} uses the EXTERNAL deployment controller (task sets managed by another tool), which ECS does"
                " not let UpdateService change, so runbook cannot roll it out; deploy it with that tool or switch"
                " the service to the ECS controller.",
    "other": "{service} uses the {controller} deployment controller, not ECS rolling updates, so runbook cannot"
             " roll it out.",
}


def _mb(size_bytes: int) -> str:
    return f"{size_bytes / 1_000_000:.0f} MB"


def _when(value: datetime | None) -> str:
    return "unknown" if value is None else f"{value:%Y-%m-%d %H:%M} UTC"


def _other_canaries(ctx: DeployContext) -> list[str]:
    """Why another runbook canary of the service stands in the way (empty: none does).

    Run with the deploy lock held: a deployment of this database that owns a canary but not the lock is dead.
    """
    try:
        others = [c for c in ctx.backend.platform.list_canaries(ctx.target) if c.deployment_id != ctx.request.deployment_id]
    except BackendError as exc:
        return [str(exc)]
    if not others:
        return []
    lines = []
    for canary in others:
        what = f"{canary.name} ({canary.version or '?'}, {canary.running} of {canary.desired} tasks running)"
        record = ctx.store.get_deployment(canary.deployment_id) if canary.deployment_id else None
        if record is None:
            owner = f"deployment {canary.deployment_id}" if canary.deployment_id else "no deployment runbook recorded"
            lines.append(f"Canary {what} belongs to {owner}, which is not in this runbook database:"
                         " is someone deploying from another runbook database?")
        else:
            gone = "whose process is gone" if record.status == "running" else f"which ended {record.status}"
            lines.append(f"Canary {what} is left over by deployment {record.id}, {gone};"
                         f" remove it with: runbook resume {record.id} --abort")
    count = len(others)
    head = (f"Another runbook canary of {ctx.target.key} is running in {ctx.target.environment}"
            if count == 1 else f"{count} other runbook canaries of {ctx.target.key} are running in {ctx.target.environment}")
    return [f"{head}: {lines[0]}" if count == 1 else f"{head}.", *(lines if count > 1 else [])]


def _way_back(ctx: DeployContext, running_revision: int) -> WayBack | None:
    """The way back from what runs now; a deploy to the version that ran before the deploy which put it in
    place (the printed rollback command) is a rollback, and is recorded as one."""
    req = ctx.request
    records = [r for r in ctx.store.list_deployments(req.service, req.environment, limit=200)
               if r.id != req.deployment_id]
    way = find_way_back(records, running_revision)
    if req.kind != "rollback" and way is not None and way.version == req.version and not req.task_definition:
        req.kind = "rollback"
        ctx.store.update_deployment(req.deployment_id, kind="rollback")
        ctx.emit(Progress(message=f"{req.version} ran before deploy {way.undoes.id} ({way.undoes.to_version}):"
                                  " this deploy is its rollback"))
    return way


def run_prechecks(ctx: DeployContext, state: DeployState, total_steps: int) -> DeployState:
    ctx.emit(StepStarted(number=1, total=total_steps, title="Pre-deployment Checks"))
    ctx.runbook_hint = start_deploy_runbook_lookup(ctx)  # beside the checks; shown when it is back
    return _checks(ctx)


def _checks(ctx: DeployContext) -> DeployState:
    req, target, backend = ctx.request, ctx.target, ctx.backend

    known: DeployState = {}  # what was read before a check failed (the record says what ran)

    def fail(check: str, message: str, details: list[str] | None = None,
             outcome: Outcome = Outcome.CHECKS_FAILED) -> DeployState:
        ctx.emit(CheckFailed(check=check, message=message, details=details or []))
        ctx.emit(StepFinished(number=1, ok=False, message="Pre-deployment checks failed"))
        return {"failure": message, "outcome": outcome} | known

    ctx.emit(Progress(message="Checking service exists..."))
    try:
        service = backend.platform.describe_service(target)
    except BackendError as exc:
        return fail("service_exists", str(exc))
    if service.deployment_controller != "ECS":
        return fail("service_exists", CONTROLLERS.get(service.deployment_controller, CONTROLLERS["other"]).format(
            service=target.key, controller=service.deployment_controller))
    ctx.emit(CheckPassed(
        check="service_exists",
        message=f"Service found: {service.name} ({backend.platform.label}, {service.cluster} cluster)",
    ))

    ctx.emit(Progress(message="Checking current version..."))
    known["from_version"] = service.version
    healthy = service.healthy_tasks
    all_healthy = healthy == service.running and service.running >= service.desired > 0
    health_text = "all healthy" if all_healthy else f"{healthy} healthy"
    details = [f"Running: {service.running} tasks, {health_text}", f"Last deployed: {_when(service.last_deployed_at)}"]
    if service.version == req.version:
        why = ("a canary of a configuration change needs a new image tag, since its metrics are told apart from"
               " the stable version's by version" if req.task_definition else "nothing to deploy")
        return fail(
            "current_version", f"{target.key} {req.version} is already running in {target.environment}; {why}.",
            details, outcome=Outcome.REFUSED,
        )
    ctx.emit(CheckPassed(check="current_version", message=f"Current version: {service.version}", details=details))
    way = _way_back(ctx, service.revision)

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
    ran = _ran_with_digest(ctx, way)
    if ran is not None and ran != image.digest:
        return fail(
            "target_image",
            f"{target.config.image_repository}:{req.version} was pushed again since it last ran here: it names"
            f" {image.digest} now, {ran} then, so this rollback would run other bytes than the ones that ran;"
            " push the image that ran under a new tag and deploy that.",
        )
    ctx.emit(CheckPassed(
        check="target_image",
        message=f"Image exists: {image.uri}",
        details=[f"Pushed: {_when(image.pushed_at)}", f"Size: {_mb(image.size_bytes)}", f"Digest: {image.digest}"],
    ))

    ctx.emit(Progress(message="Checking for incidents..."))
    alarms = backend.incidents.active_alarms(target)
    if req.kind == "rollback" and way is not None:
        # What the bad version raised is why it is rolled back; what fired before it started still stops us.
        raised, blocking = raised_since(alarms, way.undoes.started_at)
    else:
        raised, blocking = [], alarms
    if blocking and not (req.kind == "rollback" and req.despite_alarms):
        count = len(blocking)
        names, them = ", ".join(a.name for a in blocking), "them" if count > 1 else "it"
        if req.kind == "rollback":
            since = f"deploy {way.undoes.id} ({way.undoes.to_version}) started" if way else "anything runbook recorded"
            env = "" if req.environment == ctx.config.default_environment else f" --environment {req.environment}"
            message = (f"{count} alarm{'s' if count > 1 else ''} on {target.key} fired before {since}: {names};"
                       f" resolve {them}, or roll back anyway with:"
                       f" runbook rollback {req.service}{env} --to {req.version} --despite-alarms")
        else:
            message = (f"{count} active alarm{'s' if count > 1 else ''} on {target.key}: {names};"
                       f" resolve {them} before deploying.")
        return fail("incidents", message, [f"{a.name}: {a.reason}" for a in blocking if a.reason])
    if raised or blocking:
        ctx.emit(CheckPassed(
            check="incidents",
            message=f"Alarms firing on {target.key} do not stop this rollback",
            details=[f"{a.name}: raised since {way.undoes.id} started ({way.undoes.to_version})" for a in raised
                     if way is not None] + [f"{a.name}: overridden (--despite-alarms)" for a in blocking],
        ))
    else:
        ctx.emit(CheckPassed(check="incidents", message=f"No active incidents affecting {target.key}"))

    ctx.emit(Progress(message="Checking for ongoing deployments..."))
    if service.deployment_in_progress:
        return fail("deployment_lock", f"{target.key} already has a rollout in progress on the platform.")
    refusal = _take_lock(ctx)
    if refusal:
        return fail("deployment_lock", refusal)
    problem = _other_canaries(ctx)
    if problem:
        return fail("deployment_lock", problem[0], problem[1:]) | {"lock_acquired": True}
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
    show_deploy_runbook(ctx, wait=0.0)  # if it is back already; else with the approval request
    ctx.emit(StepFinished(number=1, ok=True, message="All pre-deployment checks passed"))
    return {
        "lock_acquired": True,
        "from_version": service.version,
        "from_revision": service.revision,
        "base_revision": _restored_revision(ctx, way, service.revision),
        "desired": service.desired,
        "image": image.model_dump(mode="json"),
    }


def _ran_with_digest(ctx: DeployContext, way: WayBack | None) -> str | None:
    """A rollback: the image digest its version ran with here, as runbook recorded it (None: not recorded)."""
    req = ctx.request
    if req.kind != "rollback":
        return None
    if way is not None and way.version == req.version:
        return way.digest
    records = ctx.store.list_deployments(req.service, req.environment, limit=200)
    return ran_as([r for r in records if r.id != req.deployment_id], req.version)[1]


def _restored_revision(ctx: DeployContext, way: WayBack | None, running_revision: int) -> int | None:
    """A rollback's new revision copies the revision its version last ran as (its configuration with it), not
    the running one: a bad deploy's configuration change goes back too. None: copy the running revision."""
    req = ctx.request
    if req.kind != "rollback" or req.task_definition:
        return None
    if way is not None and way.version == req.version:
        revision = way.revision
    else:  # `rollback --to` an older version
        records = ctx.store.list_deployments(req.service, req.environment, limit=200)
        revision = ran_as([r for r in records if r.id != req.deployment_id], req.version)[0]
    return revision if revision != running_revision else None


def _take_lock(ctx: DeployContext) -> str | None:
    """Take the deploy lock; else the sentence that says who holds it and what to run.

    A lock left by a deploy whose record is still running is never taken over silently, even once it
    expired: that deploy may have a canary and a pending approval request, which only `runbook resume`
    (to continue) or `runbook resume --abort` (to close) deal with.
    """
    store, req, target = ctx.store, ctx.request, ctx.target
    where = f"{target.key} to {target.environment}"
    for _attempt in range(3):
        seen = store.get_lock(ctx.lock_key)
        if seen is not None and seen.deployment_id != req.deployment_id:
            other = store.get_deployment(seen.deployment_id)
            state = liveness(seen, ctx.wall_now())
            if other is not None and other.status == Outcome.RUNNING:
                return _blocked_by(seen, other.id, state, where)
            if other is None and state in (Liveness.ALIVE, Liveness.UNKNOWN):
                return _blocked_by(seen, seen.deployment_id, state, where)
        try:
            if seen is None or seen.deployment_id == req.deployment_id:
                store.acquire_lock(ctx.lock_key, ctx.holder, req.deployment_id, ctx.wall_now(), LOCK_TTL_SECONDS,
                                   **ctx.owner)
                return None
            # The holder's deployment is over (it ended without releasing): take its lock over.
            if store.take_over_lock(ctx.lock_key, seen, ctx.holder, req.deployment_id, ctx.wall_now(),
                                    LOCK_TTL_SECONDS, **ctx.owner) is not None:
                return None
        except LockHeld:
            pass  # taken in between: look again
    held = store.get_lock(ctx.lock_key)
    return f"Another deploy of {where} keeps taking the deploy lock ({held.deployment_id if held else '?'})."


def _blocked_by(lock: LockRecord, deployment_id: str, state: Liveness, where: str) -> str:
    since = f"since {lock.acquired_at:%Y-%m-%d %H:%M:%S} UTC"
    if state in (Liveness.DEAD, Liveness.EXPIRED):
        gone = ("its process is gone" if state is Liveness.DEAD else
                f"its lock expired at {lock.expires_at:%H:%M:%S} UTC without being refreshed")
        return (f"Deployment {deployment_id} of {where} stopped without finishing ({lock.holder}, {since};"
                f" {gone}): continue it with `runbook resume {deployment_id}` or close it with"
                f" `runbook resume {deployment_id} --abort`.")
    return (f"Another deploy of {where} is in progress: {deployment_id}, held by {lock.holder} {since}."
            f" Wait for it to finish; if its process is gone, close it with"
            f" `runbook resume {deployment_id} --abort`.")
