"""Step 5: the full rollout, and the rollback that reuses it."""

from __future__ import annotations

from memory.outcome import Outcome
from skills.deploy.canary import remove_canary
from skills.deploy.context import DeployContext, DeployState
from skills.events import (
    CheckFailed,
    CheckPassed,
    Progress,
    RollbackFinished,
    RollbackStarted,
    RolloutProgress,
    StepFinished,
    StepStarted,
)
from tools.models import RolloutStatus

FIRST_POLL_SECONDS = 5.0
MAX_POLL_SECONDS = 30.0
ROLLOUT_TIMEOUT_SECONDS = 30 * 60


def watch_rollout(ctx: DeployContext) -> RolloutStatus:
    """Poll the platform until the rollout completes or fails, backing off between polls. A failed rollout the
    platform rolls back by itself (a deployment circuit breaker) is watched on until that rollback is done."""
    platform, clock = ctx.backend.platform, ctx.backend.clock
    started = clock.now()
    delay, last, failed_at = FIRST_POLL_SECONDS, None, None
    while True:
        status = platform.rollout_status(ctx.target)
        now = clock.now()
        elapsed = (now - started).total_seconds()
        counts = (status.new_running, status.old_running, status.state, status.platform_rollback)
        if counts != last:
            last = counts
            delay = FIRST_POLL_SECONDS  # something moved: look again soon
            if failed_at is None:
                ctx.emit(RolloutProgress(desired=status.desired, new_running=status.new_running,
                                         old_running=status.old_running, elapsed_seconds=elapsed, state=status.state))
        else:
            delay = min(delay * 2, MAX_POLL_SECONDS)
        if status.state == "FAILED" and status.platform_rollback == "IN_PROGRESS" and failed_at is None:
            failed_at = now
            ctx.emit(Progress(message=f"Rollout failed: {status.reason}; waiting for the platform's rollback"
                                      f" to {status.rolled_back_to or 'the previous revision'} to complete..."))
        if status.state != "IN_PROGRESS" and status.platform_rollback != "IN_PROGRESS":
            return status
        if (now - (failed_at or started)).total_seconds() >= ROLLOUT_TIMEOUT_SECONDS:
            if status.state == "FAILED":
                return status  # the platform's rollback did not complete in time either
            return status.model_copy(update={"state": "FAILED", "reason": "rollout did not finish within 30 minutes"})
        clock.sleep(delay)
        ctx.keep_lock()


def run_rollout(ctx: DeployContext, state: DeployState, total_steps: int) -> DeployState:
    target, platform = ctx.target, ctx.backend.platform
    ctx.emit(StepStarted(number=5, total=total_steps, title="Full Rollout"))
    ctx.emit(Progress(message=f"Updating service to v{ctx.request.version}..."))
    new_td = platform.task_definition(target, int(state["to_revision"]))  # type: ignore[arg-type]
    service = platform.describe_service(target)
    # Run again after a restart, a rollout already on this revision is only watched, not restarted.
    if service.task_definition != new_td.ref or service.deployment_in_progress:
        platform.start_rollout(target, new_td)
    status = watch_rollout(ctx)
    if status.state == "FAILED":
        why = platform.explain_failure(target)  # e.g. the stopped tasks' CannotPullContainerError
        ctx.emit(CheckFailed(check="rollout", message=f"Rollout failed: {status.reason or 'the platform stopped it'}",
                             details=why))
        ctx.emit(StepFinished(number=5, ok=False, message="Full rollout failed"))
        failed: DeployState = {"failure": f"rollout failed: {status.reason}", "outcome": Outcome.LEFT_RUNNING,
                               "observations": [f"Rollout failed: {status.reason}", *why]}
        # A deployment circuit breaker may have put the previous version back: reported once that has completed.
        if status.platform_rollback == "COMPLETED" or (
                status.platform_rollback is None and platform.describe_service(target).version == state.get("from_version")):
            failed |= {"outcome": Outcome.ROLLED_BACK, "rolled_back": True,
                       "observations": [f"Rollout failed: {status.reason}", *why,
                                        f"The platform already rolled {target.key} back to {state.get('from_version')}"
                                        + (f" ({status.old_running} of {status.desired} tasks on {status.rolled_back_to})."
                                           if status.rolled_back_to else ".")]}
        elif status.platform_rollback:
            failed["observations"] = [*failed["observations"],
                                      f"The platform's own rollback to {status.rolled_back_to} did not complete"
                                      f" ({status.platform_rollback.lower().replace('_', ' ')})."]
        return failed
    remove_canary(ctx)
    ctx.emit(Progress(message="Draining old tasks..."))
    if status.old_running:
        ctx.emit(CheckFailed(check="drained", message=f"{status.old_running} old tasks still running"))
        ctx.emit(StepFinished(number=5, ok=False, message="Old tasks did not drain"))
        return {"failure": "old tasks did not drain", "outcome": Outcome.LEFT_RUNNING, "canary_started": False}
    ctx.emit(CheckPassed(check="drained", message="Old tasks drained"))
    ctx.emit(Progress(message="Verifying service stability..."))
    service = platform.describe_service(target)
    if service.healthy_tasks < service.desired or service.version != ctx.request.version:
        ctx.emit(CheckFailed(check="stability", message=f"{service.healthy_tasks} of {service.desired} tasks healthy"))
        ctx.emit(StepFinished(number=5, ok=False, message="Service not stable after rollout"))
        return {"failure": "service not stable after rollout", "outcome": Outcome.LEFT_RUNNING, "canary_started": False}
    ctx.emit(CheckPassed(check="stability", message=f"All {service.desired} tasks healthy"))
    ctx.emit(StepFinished(number=5, ok=True, message="Full rollout complete"))
    return {"canary_started": False, "rollout_finished_at": ctx.now().isoformat()}


def roll_back(ctx: DeployContext, state: DeployState, reason: str) -> bool:
    """Return the service to the revision that ran before this deploy."""
    target, platform = ctx.target, ctx.backend.platform
    from_version = state.get("from_version") or "previous"
    ctx.emit(RollbackStarted(from_version=ctx.request.version, to_version=from_version, reason=reason))
    ctx.emit(Progress(message="Updating service..."))
    previous = platform.task_definition(target, int(state["from_revision"]))  # type: ignore[arg-type]
    platform.start_rollout(target, previous)
    status = watch_rollout(ctx)
    ok = status.state == "COMPLETED"
    ctx.emit(RollbackFinished(from_version=ctx.request.version, to_version=from_version, ok=ok,
                              message="" if ok else f"Rollback did not complete: {status.reason}"))
    return ok
