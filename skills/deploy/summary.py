"""The end of a deploy: what it did, in one event, and the record in the scratchpad."""

from __future__ import annotations

from datetime import datetime

from memory.outcome import Outcome
from skills.deploy.approval_step import rollback_command
from skills.deploy.canary import canary_task_count, task_share
from skills.deploy.context import DeployContext, DeployState
from skills.events import DeployFinished


def dry_run_plan(ctx: DeployContext, state: DeployState) -> list[str]:
    limits, policy = ctx.thresholds, ctx.env.approval
    desired = state.get("desired", 0)
    approval = (
        f"Approval: a person ({'anyone allowed' if policy.allow_self_approval else 'not the requester'}),"
        f" expires after {policy.expires_after_seconds // 60} min"
        if policy.required else "Approval: not required by policy"
    )
    return [
        f"Register {ctx.request.task_definition_file} as a new task-definition revision (image {state['image']['uri']})"
        if ctx.request.task_definition else f"Register a new task-definition revision with image {state['image']['uri']}",
        f"Canary: {task_share(canary_task_count(desired, limits.canary_percent), desired)},"
        f" {limits.health_checks} health checks, then judged against the stable version from a first"
        f" {limits.canary_observation_seconds}s look until the approval (alpha {ctx.config.judge.alpha:g};"
        f" limits: error rate {limits.error_rate_percent:g}%, p99 {limits.p99_latency_ms:g}ms)",
        approval,
        f"Rolling update of {desired} tasks from {state.get('from_version')} to {ctx.request.version}",
        f"Post-deployment validation for {limits.validation_seconds // 60} min",
    ]


def finish(ctx: DeployContext, state: DeployState) -> DeployState:
    req, target = ctx.request, ctx.target
    outcome = Outcome(state.get("outcome") or Outcome.SUCCEEDED)
    from_version = state.get("from_version")
    now = ctx.now()
    duration = (now - datetime.fromisoformat(state["started_at"])).total_seconds()
    rollback = rollback_command(req.service, from_version, req.environment, ctx.config.default_environment)
    investigate = f'runbook ask "Show errors for {req.service} last 10 minutes"'
    observations = list(state.get("observations") or [])
    next_steps: list[str] = []
    show_rollback = outcome in (Outcome.SUCCEEDED, Outcome.LEFT_RUNNING) and from_version
    if outcome is Outcome.DRY_RUN:
        observations = dry_run_plan(ctx, state)
        next_steps = [f"To deploy: runbook deploy {req.service} --version {req.version} --environment {req.environment}"]
    elif outcome is not Outcome.SUCCEEDED:
        if state.get("failure") and not observations:
            observations = [state["failure"] or ""]
        if outcome is Outcome.ROLLED_BACK:
            observations.append(f"Version: {req.version} → {from_version} (rolled back)")
        elif outcome is Outcome.LEFT_RUNNING:
            observations.append(f"{req.service} {req.version} is still running in {req.environment}.")
        elif from_version and not outcome.changed_nothing:
            observations.append(f"{req.service} still runs {from_version} in {req.environment}; the canary was removed.")
        if not outcome.changed_nothing and outcome not in (Outcome.DENIED, Outcome.EXPIRED):
            next_steps = [investigate]

    ctx.store.update_deployment(
        req.deployment_id, status=outcome, ended_at=now, approver=state.get("approver"),
        from_version=from_version, from_revision=state.get("from_revision"), to_revision=state.get("to_revision"),
        image_digest=(state.get("image") or {}).get("digest"), detail=state.get("failure") or "",
        metrics_before=state.get("metrics_before") or {}, metrics_after=state.get("metrics_after") or {},
    )
    if state.get("lock_acquired"):
        ctx.store.release_lock(ctx.lock_key, req.deployment_id)
    ctx.emit(DeployFinished(
        outcome=outcome, exit_code=outcome.exit_code, headline=outcome.headline, service=target.key,
        environment=req.environment, from_version=from_version, to_version=req.version, duration_seconds=duration,
        tasks=state.get("desired"), observations=observations,
        rollback_command=rollback if show_rollback else None, next_steps=next_steps,
    ))
    return {"outcome": outcome}
