"""The safe-deploy skill: pre-checks → config → canary → approval → rollout → validation → summary.

`run_deploy` drives the checkpointed graph, waits for the approval between its interrupt and
its resume, and makes sure that whatever happens (a failed step, an exception, Ctrl-C) the
canary is removed, the lock released and the outcome recorded.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, cast

from memory.records import DeploymentRecord
from memory.scratchpad import Scratchpad
from skills.approval import abort
from skills.deploy.context import (
    EXIT_BAD_INPUT,
    DeployContext,
    DeployInputError,
    DeployRequest,
    DeployState,
    TerminalPrompt,
)
from skills.events import DeployFinished, DeployStarted, Event
from tools.backend import BackendError, open_backend, target_for
from tools.config import RunbookConfig

if TYPE_CHECKING:
    from langchain_core.runnables import RunnableConfig

__all__ = ["DeployInputError", "DeployRequest", "run_deploy", "EXIT_BAD_INPUT"]

CHECKPOINT_FILE = "checkpoints.db"


def _checkpointer(state_dir: Path):  # type: ignore[no-untyped-def]
    from langgraph.checkpoint.sqlite import SqliteSaver

    return SqliteSaver(sqlite3.connect(state_dir / CHECKPOINT_FILE, check_same_thread=False))


def run_deploy(
    config: RunbookConfig,
    request: DeployRequest,
    sink: Callable[[Event], None],
    state_dir: Path,
    terminal_prompt: TerminalPrompt | None = None,
) -> int:
    """Run one deploy to its end and return its exit code. Raises ConfigError for bad input."""
    from langgraph.types import Command

    from skills.deploy.approval_step import wait_for_decision
    from skills.deploy.graph import TOTAL_STEPS, build_deploy_graph

    target = target_for(config, request.service, request.environment)
    env_name, env = config.environment(request.environment)
    request.environment = env_name
    state_dir.mkdir(parents=True, exist_ok=True)
    backend = open_backend(config, env_name, state_dir)
    store = Scratchpad.in_dir(state_dir)
    ctx = DeployContext(config=config, env=env, target=target, backend=backend, store=store, sink=sink,
                        request=request, state_dir=state_dir, terminal_prompt=terminal_prompt)
    started = ctx.now()
    store.record_deployment(DeploymentRecord(
        id=request.deployment_id, service=request.service, environment=env_name, from_version=None,
        to_version=request.version, requester=request.requester, started_at=started, kind=request.kind,
    ))
    saver = _checkpointer(state_dir)
    app = build_deploy_graph(ctx).compile(checkpointer=saver)
    thread: RunnableConfig = {"configurable": {"thread_id": request.deployment_id}}
    try:
        ctx.emit(DeployStarted(service=request.service, environment=env_name, version=request.version,
                               requester=request.requester, total_steps=TOTAL_STEPS, dry_run=request.dry_run,
                               auto_rollback=request.auto_rollback))
        result = app.invoke({"deployment_id": request.deployment_id, "started_at": started.isoformat()}, thread)
        while result.get("__interrupt__"):
            state = app.get_state(thread).values
            decision = wait_for_decision(ctx, state["approval_id"], state["image"]["digest"],
                                         state.get("from_version") or "")
            result = app.invoke(Command(resume=decision), thread)
        return int(result.get("exit_code") or 0)
    except (Exception, KeyboardInterrupt) as exc:
        interrupted = isinstance(exc, KeyboardInterrupt)
        _abandon(ctx, cast(DeployState, app.get_state(thread).values), "interrupted by the user" if interrupted else str(exc))
        if interrupted:
            raise
        if isinstance(exc, BackendError):
            return 1
        raise
    finally:
        backend.close()
        saver.conn.close()
        store.close()


def _abandon(ctx: DeployContext, state: DeployState, reason: str) -> None:
    """Leave nothing half-done after an unexpected stop: canary gone, lock released, outcome recorded."""
    req = ctx.request
    # A node interrupted halfway has not checkpointed its own updates, so "canary_started" may be
    # missing: whoever holds the lock owns any canary of this service, and removing it is idempotent.
    if state.get("lock_acquired") or state.get("canary_started"):
        try:
            ctx.backend.platform.remove_canary(ctx.target)
        except Exception:  # noqa: BLE001 - best effort; the record below says what happened
            reason += " (the canary could not be removed: remove it by hand)"
    pending = ctx.store.approval_for_deployment(req.deployment_id)
    if pending is not None and pending.status == "pending":
        abort(ctx.store, pending, ctx.now(), reason)
    ctx.store.release_lock(ctx.lock_key, req.deployment_id)
    ctx.store.update_deployment(req.deployment_id, status="failed", ended_at=ctx.now(), detail=reason)
    ctx.emit(DeployFinished(
        outcome="failed", exit_code=1, headline="DEPLOYMENT FAILED", service=req.service,
        environment=req.environment, from_version=state.get("from_version"), to_version=req.version,
        observations=[reason], next_steps=[f"{req.service}: the canary was removed and the deploy lock released."],
    ))
