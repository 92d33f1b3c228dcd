"""`runbook resume`: continue a deploy whose process died (kill -9, a reboot) from its last checkpoint,
or close it (`abort=True`): canary removed, approval request withdrawn, lock released, stable version kept.

A deploy is alive while its lock is within its TTL, since every wait loop of a running deploy refreshes
it. A live lock held from this host by a process that no longer exists is a dead deploy; one held from
another host cannot be checked from here, so only `force` overrides it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from memory.outcome import Outcome
from memory.records import DeploymentRecord, LockRecord
from memory.scratchpad import Scratchpad
from skills.deploy.context import (
    LOCK_TTL_SECONDS,
    DeployContext,
    DeployInputError,
    DeployRequest,
    DeployState,
    TerminalPrompt,
)
from skills.deploy.driver import abandon, drive, last_checkpoint
from skills.deploy.liveness import Holder, Liveness, liveness
from skills.events import CheckPassed, DeployStarted, Event, Progress
from skills.resources import Resources

# Where a resumed deploy picks up, by the graph node it runs next.
RESUME_POINTS = {
    "prechecks": "step 1, pre-deployment checks",
    "validate_config": "step 2, configuration",
    "canary": "step 3, the canary",
    "request_approval": "step 4, the approval request",
    "await_approval": "step 4, waiting for approval",
    "confirm_image": "step 4, confirming the approved image",
    "rollout": "step 5, the full rollout",
    "validate": "step 6, post-deployment validation",
    "clean_up_canary": "removing the canary",
    "after_failed_rollout": "after the failed rollout",
    "finish": "the summary",
}
# Later deploys of the same service that changed nothing do not stand in the way of a resume.
HARMLESS_OUTCOMES = ("dry_run", "checks_failed")


def resume_deploy(
    resources: Resources,
    deployment_id: str,
    sink: Callable[[Event], None],
    *,
    abort: bool = False,
    force: bool = False,
    terminal_prompt: TerminalPrompt | None = None,
) -> int:
    """Continue (or, with `abort`, close) the deployment `deployment_id` (an id or a unique prefix).

    Returns the deploy's exit code (0 once an abort is done); raises DeployInputError, changing
    nothing, when the deployment is unknown, finished, still alive, or overtaken by a later deploy.
    """
    user = resources.user
    record = _running_deployment(resources.store, deployment_id, finished_ok=abort)
    request = DeployRequest(service=record.service, version=record.to_version, environment=record.environment,
                            requester=record.requester, requester_via=record.requester_via, kind=record.kind,
                            deployment_id=record.id)
    # The terminal prompt decides as the requester: offered only to the requester themselves.
    ctx = DeployContext.open(resources, request, sink, terminal_prompt if user == record.requester else None)
    if record.status != "running":
        return _remove_leftover_canary(ctx, record, user)
    seen = _lock_of_a_dead_deploy(ctx, force)
    checkpoint = last_checkpoint(ctx)
    if not abort:
        _refuse_if_overtaken(ctx, record)
        if checkpoint is None or not checkpoint.next_steps:
            raise DeployInputError(f"Deployment {record.id} has no saved step to resume from;"
                                   f" close it with: runbook resume {record.id} --abort")
    asked = (checkpoint.values.get("request") if checkpoint else None) or _asked_at_start(ctx)
    request.auto_rollback = bool(asked.get("auto_rollback"))
    request.dry_run = bool(asked.get("dry_run"))
    request.despite_alarms = bool(asked.get("despite_alarms"))
    request.task_definition, request.task_definition_file = asked.get("task_definition"), asked.get("task_definition_file")
    # Only if the lock is still as seen: of two commands resuming the same deploy at once, one goes on.
    if ctx.store.take_over_lock(ctx.lock_key, seen, ctx.holder, record.id, ctx.wall_now(), LOCK_TTL_SECONDS,
                                **ctx.owner) is None:
        raise DeployInputError(f"The deploy lock of {ctx.lock_key} changed hands while {record.id} was being"
                               " resumed (by another command?); nothing changed.")
    ctx.emit(DeployStarted(service=request.service, environment=request.environment, version=request.version,
                           requester=request.requester, total_steps=_total_steps(),
                           dry_run=request.dry_run, auto_rollback=request.auto_rollback, backend=ctx.backend.name,
                           config=ctx.config.label))
    if abort:
        ctx.emit(Progress(message=f"Abandoning deployment {record.id}..."))
        state: DeployState = {**(checkpoint.values if checkpoint else {}), "lock_acquired": True}  # type: ignore[typeddict-item]
        # Once the rollout had begun, the version that ran before it is put back (not left rolling or running).
        abandon(ctx, state, f"abandoned by {user}", Outcome.ABANDONED, restore=True)
        return 0
    assert checkpoint is not None
    where = RESUME_POINTS.get(checkpoint.next_steps[0], checkpoint.next_steps[0])
    ctx.emit(Progress(message=f"Resuming deployment {record.id} from its last checkpoint ({where})..."))
    return drive(ctx, None)


def _total_steps() -> int:
    from skills.deploy.graph import TOTAL_STEPS

    return TOTAL_STEPS


def _remove_leftover_canary(ctx: DeployContext, record: DeploymentRecord, user: str) -> int:
    """`--abort` of a deploy that already ended: remove the canary it left behind, if it left one."""
    if not any(c.deployment_id == record.id for c in ctx.backend.platform.list_canaries(ctx.target)):
        raise DeployInputError(f"Deployment {record.id} already finished ({record.status}); there is nothing to resume.")
    ctx.emit(Progress(message=f"Removing the canary deployment {record.id} ({record.status}) left behind..."))
    ctx.backend.platform.remove_canary(ctx.target, record.id)
    ctx.emit(CheckPassed(check="canary_removed", message=f"Canary of {record.id} removed (by {user})"))
    return 0


def _running_deployment(store: Scratchpad, deployment_id: str, finished_ok: bool = False) -> DeploymentRecord:
    record = store.find_deployment(deployment_id)
    if record is None:
        raise DeployInputError(f"No deployment matches '{deployment_id}' (runbook history lists them).")
    if record.status != "running" and not finished_ok:
        raise DeployInputError(f"Deployment {record.id} already finished ({record.status}); there is nothing to resume.")
    return record


def _held_by_other(ctx: DeployContext, other: str, holder: str) -> str:
    return (f"Deployment {other} holds the deploy lock of {ctx.lock_key} ({holder});"
            f" {ctx.request.deployment_id} can be resumed once it ends.")


def _lock_of_a_dead_deploy(ctx: DeployContext, force: bool) -> LockRecord | None:
    """The deploy lock as it is now (None: free), unless it shows the deployment, or another, alive."""
    lock = ctx.store.get_lock(ctx.lock_key)
    if lock is None:
        return lock
    state = liveness(lock, ctx.wall_now())
    if state is Liveness.EXPIRED:
        return lock
    dep_id = ctx.request.deployment_id
    if lock.deployment_id != dep_id:
        raise DeployInputError(_held_by_other(ctx, lock.deployment_id, lock.holder))
    if state is Liveness.ALIVE:
        holder = Holder.of(lock)
        raise DeployInputError(f"Deployment {dep_id} is still running: its process"
                               f" (pid {holder.pid if holder else '?'}) holds the deploy lock of {ctx.lock_key}.")
    if state is Liveness.DEAD:
        return lock
    if not force:
        raise DeployInputError(
            f"Deployment {dep_id} may still be running: {lock.holder} holds the deploy lock of {ctx.lock_key}"
            f" until {lock.expires_at:%Y-%m-%d %H:%M:%S} UTC; wait until then or, if that process is gone,"
            " pass --force.")
    return lock


def _refuse_if_overtaken(ctx: DeployContext, record: DeploymentRecord) -> None:
    """A deploy of the same service that ran after this one stopped has made its saved state stale."""
    for other in ctx.store.list_deployments(record.service, record.environment, limit=50):
        if other.started_at <= record.started_at:
            break
        if other.id != record.id and other.status not in HARMLESS_OUTCOMES:
            raise DeployInputError(
                f"Deployment {other.id} ({other.status}) of {record.service} to {record.environment} started after"
                f" {record.id} stopped, so resuming it could undo that; close it with:"
                f" runbook resume {record.id} --abort")


def _asked_at_start(ctx: DeployContext) -> dict[str, Any]:
    """The options of a deploy that stopped before its first checkpoint, from its `deploy_started` event."""
    for event in ctx.store.events(ctx.request.deployment_id):
        if event.kind == "deploy_started":
            return event.payload
    return {}
