"""Step 4: ask a person, then wait: polling the shared store and judging the canary meanwhile.

The canary's judgement goes on accumulating through the wait (it is the same comparison the canary
step started): it aborts the deploy once the canary is shown unhealthy, and it may turn an inconclusive
canary healthy, which the approval card then says. Approving while it is inconclusive is an override
(`skills.approval` records it as one).
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from memory.records import ApprovalRecord
from skills import approval as gate
from skills.deploy import slack_approval
from skills.deploy.canary import HealthEvery, canary_healthy
from skills.deploy.canary_watch import judge_now, observed_event, open_watch, summary_lines
from skills.deploy.context import DeployContext, DeployState
from skills.deploy.evidence import CanaryPlan, CanaryWatch
from skills.deploy.knowledge import show_deploy_runbook
from skills.events import ApprovalRequested, CanaryVerdictChanged, MoreEvidence, StepFinished, StepStarted

POLL_SECONDS = 2.0  # clock time between two looks at the store
MIN_POLL_WALL_SECONDS = 0.1  # even on instant time, leave other processes room to decide
CANARY_RECHECK_SECONDS = 30.0


def rollback_command(service: str, version: str | None, environment: str, default_environment: str | None) -> str:
    env = "" if environment == default_environment else f" --environment {environment}"
    return f"runbook deploy {service} --version {version}{env}"


def request_approval(ctx: DeployContext, state: DeployState, total_steps: int) -> DeployState:
    req, policy = ctx.request, ctx.env.approval
    ctx.emit(StepStarted(number=4, total=total_steps, title="Request Approval"))
    show_deploy_runbook(ctx, wait=ctx.resources.recall_settings.wait_seconds)  # if the pre-checks could not
    if not policy.required:
        ctx.emit(StepFinished(number=4, ok=True, message=f"No approval required in {req.environment}"))
        return {"approval_id": None}
    image_digest = state["image"]["digest"]
    record = gate.open_request(
        ctx.store, deployment_id=req.deployment_id, service=req.service, environment=req.environment,
        from_version=state.get("from_version"), to_version=req.version, image_digest=image_digest,
        requester=req.requester, requester_via=req.requester_via, now=ctx.wall_now(), policy=policy,
    )
    how = []
    if policy.terminal:
        who = "you or another approver" if policy.allow_self_approval else f"an approver other than {req.requester}"
        how = [f"To decide, {who} runs:", f"  runbook approve {req.deployment_id}",
               f"  runbook deny {req.deployment_id} --reason '...'"]
    event = ApprovalRequested(
        request_id=record.id, operation=f"Deploy {req.service} v{req.version} to 100%", risk=policy.risk,
        environment=req.environment, service=req.service, from_version=state.get("from_version") or "",
        to_version=req.version, image_digest=image_digest, requester=req.requester,
        canary_summary=state.get("canary_summary", []), changes=state.get("changes", []),
        rollback_command=rollback_command(req.service, state.get("from_version"), req.environment,
                                          ctx.config.default_environment),
        expires_at=record.expires_at, channels=[], how_to_decide=how,
        canary_verdict=state.get("canary_verdict"),
        canary_more=[MoreEvidence.model_validate(m) for m in state.get("canary_more", [])],
    )
    posted_to = slack_approval.post_card(ctx, record, event) if policy.slack else None
    if posted_to:
        event.channels.append(posted_to)
    if policy.terminal:
        event.channels.append("terminal")
    ctx.emit(event)
    return {"approval_id": record.id}


def wait_for_decision(
    ctx: DeployContext, approval_id: str, image_digest: str, stable_version: str,
    canary_plan: dict[str, Any] | None = None, canary_verdict: str | None = None,
) -> dict[str, str | None]:
    """Block until a person decides, the request expires, or the canary is shown unhealthy.

    Runs outside the graph (between the interrupt and the resume). Returns the stored outcome; an
    approval given while the canary was inconclusive comes back with "override".
    """
    store, clock, policy = ctx.store, ctx.backend.clock, ctx.env.approval
    watch = open_watch(ctx, CanaryPlan.from_json(canary_plan), stable_version) if canary_plan else None
    horizon = ctx.thresholds.canary_observation_seconds + policy.expires_after_seconds
    last_canary_check = None
    verdict = canary_verdict
    health = HealthEvery(ctx, lambda: canary_healthy(ctx))
    offer_prompt = ctx.terminal_prompt is not None and policy.terminal and policy.allow_self_approval
    entered = ctx.wall_now()
    if ctx.heartbeat is not None:
        ctx.heartbeat.beat()  # the lock is fresh as the wait begins (a resumed deploy's may be old)
    while True:
        record = store.get_approval(approval_id)
        if record is None:
            raise RuntimeError(f"approval request {approval_id} vanished from the store")
        now, world_now = ctx.wall_now(), clock.now()
        if record.status == "pending" and now >= record.expires_at:
            record = gate.expire(store, record, now)
        due = last_canary_check is None or (world_now - last_canary_check).total_seconds() >= CANARY_RECHECK_SECONDS
        if record.status == "pending" and watch is not None and due:
            last_canary_check = world_now  # metrics live on the world's clock (virtual in the sandbox)
            judgement = judge_now(ctx, watch, health())
            ctx.emit(observed_event("approval_wait", judgement, watch, horizon, True))
            if judgement.verdict == "unhealthy":
                record = gate.abort(store, record, now, "canary degraded while waiting: " + "; ".join(judgement.reasons))
            elif verdict is not None and judgement.verdict != verdict:
                ctx.emit(CanaryVerdictChanged(
                    verdict=judgement.verdict, previous=verdict, observed_seconds=watch.observed_seconds,  # type: ignore[arg-type]
                    canary_requests=judgement.canary_requests, more=judgement.more,
                    summary=summary_lines(judgement, watch.observed_seconds)))
                slack_approval.refresh_card(ctx, record)
            verdict = judgement.verdict
        if record.status == "pending" and offer_prompt and ctx.terminal_prompt is not None:
            question = f"Approve {ctx.request.service} {ctx.request.version} to {ctx.request.environment}"
            if verdict == "inconclusive":
                question += " while the canary is inconclusive (an override)"
            answer = ctx.terminal_prompt(question + "? [y/N] ", MIN_POLL_WALL_SECONDS)
            if answer in ("approved", "denied"):
                try:
                    record = gate.decide(store, record, answer,  # type: ignore[arg-type]
                                         by=ctx.resources.identity(ctx.request.environment),
                                         channel="terminal", now=now, policy=policy)
                except gate.ApprovalError:
                    record = store.get_approval(approval_id) or record
        if record.status != "pending":
            slack_approval.show_outcome(ctx, record)
            bound = record.deployment_id == ctx.request.deployment_id and record.image_digest == image_digest
            if record.status == "approved" and not bound:
                return {"status": "aborted", "by": record.decided_by, "at": None,
                        "reason": "the approval is bound to another deployment or image"}
            degraded = _degraded_since(ctx, record, entered, watch, health, horizon)
            if degraded:
                return {"status": "aborted", "by": record.decided_by, "at": None, "reason": degraded}
            return {"status": record.status, "by": record.decided_by, "reason": record.reason,
                    "at": record.decided_at.isoformat() if record.decided_at else None,
                    "override": "override" if gate.is_override(record) else None}
        ctx.keep_lock()
        started = time.monotonic()
        clock.sleep(POLL_SECONDS)
        spent = time.monotonic() - started
        if spent < MIN_POLL_WALL_SECONDS:
            time.sleep(MIN_POLL_WALL_SECONDS - spent)


def _degraded_since(ctx: DeployContext, record: ApprovalRecord, entered: datetime, watch: CanaryWatch | None,
                    health: HealthEvery, horizon: float) -> str | None:
    """An approval given before this wait began (the deploy was resumed after its process died) was given on
    evidence the canary has added to since: judge it again up to now before the rollout; the reason to
    stop, or None."""
    if record.status != "approved" or watch is None or record.decided_at is None or record.decided_at >= entered:
        return None
    judgement = judge_now(ctx, watch, health())
    ctx.emit(observed_event("approval_wait", judgement, watch, horizon, True))
    if judgement.verdict != "unhealthy":
        return None
    return "canary degraded since the approval (judged again on resume): " + "; ".join(judgement.reasons)
