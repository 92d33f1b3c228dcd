"""The safe-deploy skill: pre-checks → config → canary → approval → rollout → validation → summary.

`run_deploy` starts a deploy and `resume_deploy` continues one whose process died; both hand the
checkpointed graph to `driver.drive`, which waits for the approval between its interrupt and its
resume and makes sure that whatever happens (a failed step, an exception, Ctrl-C) the canary is
removed, the lock released and the outcome recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict

from memory.records import DeploymentRecord
from skills.deploy.context import (
    DeployContext,
    DeployInputError,
    DeployRequest,
    TerminalPrompt,
)
from skills.deploy.driver import drive
from skills.deploy.resume import resume_deploy
from skills.events import DeployStarted, Event
from skills.resources import Resources

__all__ = ["DeployInputError", "DeployRequest", "run_deploy", "resume_deploy"]


def run_deploy(
    resources: Resources,
    request: DeployRequest,
    sink: Callable[[Event], None],
    terminal_prompt: TerminalPrompt | None = None,
) -> int:
    """Run one deploy to its end and return its exit code. Raises ConfigError for bad input."""
    from skills.deploy.graph import TOTAL_STEPS

    ctx = DeployContext.open(resources, request, sink, terminal_prompt)
    started = ctx.now()
    ctx.store.record_deployment(DeploymentRecord(
        id=request.deployment_id, service=request.service, environment=request.environment, from_version=None,
        to_version=request.version, requester=request.requester, requester_via=request.requester_via,
        started_at=started, kind=request.kind,
    ))
    ctx.emit(DeployStarted(service=request.service, environment=request.environment, version=request.version,
                           requester=request.requester, total_steps=TOTAL_STEPS, dry_run=request.dry_run,
                           auto_rollback=request.auto_rollback, backend=ctx.backend.name, config=ctx.config.label))
    # The request goes into the first checkpoint: `runbook resume` rebuilds it from there.
    return drive(ctx, {"deployment_id": request.deployment_id, "started_at": started.isoformat(),
                       "request": asdict(request)})
