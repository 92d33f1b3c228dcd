"""Driving the checkpointed deploy graph, for a new deploy and for one resumed after its process died.

`drive` runs the graph from its start (or from its last checkpoint), waits for the approval between
the interrupt and the resume, and makes sure that whatever happens (a failed step, an exception,
Ctrl-C) the canary is removed, the lock released and the outcome recorded (`abandon`).
"""

from __future__ import annotations

from dataclasses import dataclass
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
        abandon(ctx, _last_state(app, thread), reason, outcome)
        if stopped is not None:
            raise stopped from None
        if isinstance(exc, (BackendError, LockLost)):
            return 1
        raise


def _last_state(app: Any, thread: RunnableConfig) -> DeployState:
    try:
        return cast(DeployState, app.get_state(thread).values)
    except Exception:  # noqa: BLE001 - the store itself failed: clean up with what is known
        return {"lock_acquired": True}


def abandon(ctx: DeployContext, state: DeployState, reason: str, outcome: Outcome = Outcome.FAILED) -> None:
    """Leave nothing half-done after an unexpected stop: canary gone, request withdrawn, lock released,
    outcome recorded. Each step is tried on its own (the store may be what failed: a full disk, a lost
    database connection); what could not be done is said, with the command that finishes it."""
    req = ctx.request
    left: list[str] = []

    def attempt(what: str, step: Any) -> Any:
        try:
            return step()
        except Exception:  # noqa: BLE001 - said below, with the way to finish it
            left.append(what)
            return None

    # A node interrupted halfway has not checkpointed its own updates, so "canary_started" may be
    # missing: the canary is this deployment's own (never another's), and removing it is idempotent.
    if state.get("lock_acquired") or state.get("canary_started"):
        attempt("the canary", lambda: ctx.backend.platform.remove_canary(ctx.target, req.deployment_id))
    pending = attempt("the approval request", lambda: ctx.store.approval_for_deployment(req.deployment_id))
    if pending is not None and pending.status == "pending":
        aborted = attempt("the approval request", lambda: abort(ctx.store, pending, ctx.wall_now(), reason))
        if aborted is not None:
            show_outcome(ctx, aborted)  # the card loses its buttons
    attempt("the deploy lock", lambda: ctx.store.release_lock(ctx.lock_key, req.deployment_id))
    attempt("the deployment's record", lambda: ctx.store.update_deployment(
        req.deployment_id, status=outcome, ended_at=ctx.now(), detail=reason))
    if left:
        done = "Could not clean up " + ", ".join(dict.fromkeys(left))
        next_steps = [f"{done}: once runbook's state can be written again, `runbook resume {req.deployment_id}"
                      " --abort` finishes the clean-up."]
    else:
        next_steps = [f"{req.service}: the canary was removed and the deploy lock released."]
    finished = DeployFinished(
        outcome=outcome, exit_code=outcome.exit_code, headline=outcome.headline, service=req.service,
        environment=req.environment, from_version=state.get("from_version"), to_version=req.version,
        observations=[reason], next_steps=next_steps, logged=not left,
    )
    try:
        ctx.emit(finished)
    except Exception:  # noqa: BLE001 - the audit trail cannot take it: the person still sees it
        ctx.notify(finished)
