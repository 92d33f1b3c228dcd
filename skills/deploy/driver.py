"""Driving the checkpointed deploy graph, for a new deploy and for one resumed after its process died.

`drive` runs the graph from its start (or from its last checkpoint), waits for the approval between
the interrupt and the resume, and makes sure that whatever happens (a failed step, an exception,
Ctrl-C) the canary is removed, the lock released and the outcome recorded (`abandon`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from memory.outcome import Outcome, Stopped
from skills.approval import abort
from skills.deploy.context import DeployContext, DeployState, LockLost
from skills.deploy.slack_approval import show_outcome
from skills.events import DeployFinished
from tools.backend import BackendError

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig


def thread_of(deployment_id: str) -> RunnableConfig:
    from memory.checkpoints import deploy_thread

    return {"configurable": {"thread_id": deploy_thread(deployment_id)}}


@dataclass
class Checkpoint:
    """Where a deployment's graph stopped: its state, and the steps it would run next (none: it ended)."""

    values: dict[str, Any]
    next_steps: tuple[str, ...]


def last_checkpoint(ctx: DeployContext) -> Checkpoint | None:
    """The deployment's last checkpoint, or None if its graph never saved one."""
    from skills.deploy.graph import build_deploy_graph

    with ctx.resources.checkpointer() as saver:
        app = build_deploy_graph(ctx).compile(checkpointer=saver)
        snapshot = app.get_state(thread_of(ctx.request.deployment_id))
    if snapshot.created_at is None:
        return None
    return Checkpoint(values=dict(snapshot.values), next_steps=tuple(snapshot.next))


def drive(ctx: DeployContext, first_input: dict[str, Any] | None) -> int:
    """Run the graph to its end and return the exit code: from `first_input`, or (None) from its last checkpoint."""
    from skills.deploy.graph import build_deploy_graph
    from skills.deploy.heartbeat import Heartbeat

    with ctx.resources.checkpointer() as saver, Heartbeat(ctx) as heartbeat:
        ctx.heartbeat = heartbeat
        try:
            return _drive(ctx, build_deploy_graph(ctx).compile(checkpointer=saver), first_input)
        finally:
            ctx.heartbeat = None
            if ctx.runbook_hint is not None:  # never shown (the deploy ended first): stop the lookup
                ctx.runbook_hint.close()
                ctx.runbook_hint = None


def _drive(ctx: DeployContext, app: Any, first_input: dict[str, Any] | None) -> int:
    from langgraph.types import Command

    from skills.deploy.approval_step import wait_for_decision

    thread = thread_of(ctx.request.deployment_id)
    try:
        result = app.invoke(first_input, thread)
        while result.get("__interrupt__"):
            state = app.get_state(thread).values
            decision = wait_for_decision(ctx, state["approval_id"], state["image"]["digest"],
                                         state.get("from_version") or "", state.get("canary_plan"),
                                         state.get("canary_verdict"))
            result = app.invoke(Command(resume=decision), thread)
        return Outcome(result.get("outcome") or Outcome.SUCCEEDED).exit_code
    except (Exception, KeyboardInterrupt, Stopped) as exc:
        stopped = exc if isinstance(exc, Stopped) else Stopped() if isinstance(exc, KeyboardInterrupt) else None
        outcome = stopped.outcome if stopped else Outcome.FAILED
        reason = outcome.meaning if stopped else str(exc)
        # --auto-rollback rolls back on this path too, once the rollout had begun; never for a deploy whose lock
        # another took over, nor for one a person stopped (Ctrl-C, a signal), which says what runs instead.
        restore = ctx.request.auto_rollback and stopped is None and not isinstance(exc, LockLost)
        recorded = abandon(ctx, _last_state(app, thread), reason, outcome, restore=restore)
        if stopped is not None:
            raise stopped from None
        if isinstance(exc, (BackendError, LockLost)):
            return recorded.exit_code
        raise


def _last_state(app: Any, thread: RunnableConfig) -> DeployState:
    try:
        return cast(DeployState, app.get_state(thread).values)
    except Exception:  # noqa: BLE001 - the store itself failed: clean up with what is known
        return {"lock_acquired": True}


# What abandon leaves to runbook's own state (the database): finished by `runbook resume --abort` once it can be written.
_STATE_ITEMS = ("the approval request", "the deploy lock", "the deployment's record")


def abandon(ctx: DeployContext, state: DeployState, reason: str, outcome: Outcome = Outcome.FAILED,
            restore: bool = False) -> Outcome:
    """Leave nothing half-done after an unexpected stop: canary gone, request withdrawn, lock released,
    outcome recorded. Each step is tried on its own (the store may be what failed: a full disk, a lost
    database connection); what could not be done is said, with the command that finishes it.

    Once the rollout had begun, the version that ran before it is put back when `restore` (`resume --abort`,
    `--auto-rollback`); else the summary says which version is live, that it was not validated, and how to
    roll back. Returns the outcome recorded."""
    req, platform = ctx.request, ctx.backend.platform
    left: dict[str, str] = {}

    def attempt(what: str, step: Any) -> Any:
        try:
            return step()
        except Exception as exc:  # noqa: BLE001 - said below, with the way to finish it
            left.setdefault(what, str(exc) or type(exc).__name__)
            return None

    # A node interrupted halfway has not checkpointed its own updates, so "canary_started" may be
    # missing: the canary is this deployment's own (never another's), and removing it is idempotent.
    if state.get("lock_acquired") or state.get("canary_started"):
        attempt("the canary", lambda: platform.remove_canary(ctx.target, req.deployment_id))
    observations = [reason]
    way_back = _after_the_rollout(ctx, state, reason, restore, attempt, left)
    if way_back.rolled_back:
        observations.append(f"Version: {req.version} → {state.get('from_version')} (rolled back)")
        if outcome is Outcome.FAILED:
            outcome = Outcome.ROLLED_BACK
    observations += way_back.observations
    pending = attempt("the approval request", lambda: ctx.store.approval_for_deployment(req.deployment_id))
    if pending is not None and pending.status == "pending":
        aborted = attempt("the approval request", lambda: abort(ctx.store, pending, ctx.wall_now(), reason))
        if aborted is not None:
            show_outcome(ctx, aborted)  # the card loses its buttons
    attempt("the deploy lock", lambda: ctx.store.release_lock(ctx.lock_key, req.deployment_id))
    attempt("the deployment's record", lambda: ctx.store.update_deployment(
        req.deployment_id, status=outcome, ended_at=ctx.now(), detail=reason))
    next_steps: list[str] = []
    if "the canary" in left:
        next_steps.append(f"The canary of {req.deployment_id} is still running in {req.service} ({req.environment}):"
                          f" it could not be removed ({left['the canary']}); `runbook resume {req.deployment_id}"
                          " --abort` removes it.")
    stuck = [what for what in left if what in _STATE_ITEMS]
    if stuck:
        next_steps.append(f"Could not clean up {', '.join(stuck)}: once runbook's state can be written again,"
                          f" `runbook resume {req.deployment_id} --abort` finishes the clean-up.")
    if not stuck and "the canary" not in left:
        next_steps.insert(0, f"{req.service}: the canary was removed and the deploy lock released.")
    finished = DeployFinished(
        outcome=outcome, exit_code=outcome.exit_code, headline=outcome.headline, service=req.service,
        environment=req.environment, from_version=state.get("from_version"), to_version=req.version,
        observations=observations, next_steps=next_steps, logged=not stuck,
        rollback_command=way_back.command,
    )
    try:
        ctx.emit(finished)
    except Exception:  # noqa: BLE001 - the audit trail cannot take it: the person still sees it
        ctx.notify(finished)
    return outcome


def _past_the_approval(state: DeployState) -> bool:
    """Whether the last checkpoint is past the approval (none required, or granted): the rollout may have begun."""
    if "approval_id" not in state:
        return False
    outcome = state.get("outcome")
    if outcome and Outcome(outcome) in (Outcome.DENIED, Outcome.EXPIRED, Outcome.CANARY_FAILED, Outcome.IMAGE_CHANGED):
        return False
    return state.get("approval_id") is None or bool(state.get("approver"))


@dataclass
class _WayBack:
    rolled_back: bool = False
    observations: list[str] = field(default_factory=list)
    command: str | None = None  # the rollback command, printed when the new version was left live


def _after_the_rollout(ctx: DeployContext, state: DeployState, reason: str, restore: bool, attempt: Any,
                       left: dict[str, str]) -> _WayBack:
    """Whether the rollout had begun, read from the platform (what runs), and what was done about it."""
    from skills.deploy.approval_step import rollback_command
    from skills.deploy.rollout import roll_back

    req, from_revision, from_version = ctx.request, state.get("from_revision"), state.get("from_version")
    if from_revision is None or not state.get("lock_acquired"):
        return _WayBack()  # stopped before the pre-checks read what runs: nothing of this deploy rolled out
    where = f"{req.service} in {req.environment}"
    service = attempt("reading which version runs", lambda: ctx.backend.platform.describe_service(ctx.target))
    if service is None:
        if not _past_the_approval(state):
            return _WayBack()  # the checkpoint says the rollout was never reached
        return _WayBack(observations=[f"Could not read which version of {where} runs, so it is not known whether"
                                      f" the rollout to {req.version} began; `runbook status {req.service}` shows it."])
    if service.revision == from_revision and not service.deployment_in_progress:
        return _WayBack()  # the stable revision runs, untouched
    if restore:
        if attempt("the rollback", lambda: roll_back(ctx, state, reason)):
            return _WayBack(rolled_back=True)
        left.setdefault("the rollback", "it did not complete")
    validated = bool(state.get("metrics_after")) and not state.get("failure")
    live = (f"A rollout of {where} to {service.version} is under way" if service.deployment_in_progress
            else f"{req.service} {service.version} is live in {req.environment}")
    lines = [f"{live}, {'validated' if validated else 'not validated'}; {from_version} ran before it."]
    if "the rollback" in left:
        lines.append(f"The rollback to {from_version} failed: {left['the rollback']}")
    return _WayBack(observations=lines, command=rollback_command(req.service, from_version, req.environment,
                                                                 ctx.config.default_environment))
