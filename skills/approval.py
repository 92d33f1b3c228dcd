"""The approval gate: plain code that no model can reach.

A request is bound to one deployment (service, environment, versions, image digest) and
expires. Only a person decides, through `decide`, which enforces the environment's policy:
which channels may decide, who may approve, and that in production the requester cannot
approve their own deploy. An approval given while the deploy's canary is inconclusive is recorded as
an override (the card and the prompt say so before the click). Nothing in the agent's tool list calls
into this module.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

from memory.errors import UserError
from memory.identity import Identity
from memory.records import ApprovalRecord
from memory.scratchpad import Scratchpad
from tools.config import ApprovalPolicy

Decision = Literal["approved", "denied"]
Channel = Literal["terminal", "slack"]

# An approval given while the canary judge had not reached a verdict overrides it; the record says so.
OVERRIDE_NOTE = "override: approved while the canary was inconclusive"


class ApprovalError(UserError):
    """A decision that the gate refuses; the message is one sentence for the person."""


def new_request_id() -> str:
    return "apr-" + uuid.uuid4().hex[:10]


def open_request(
    store: Scratchpad,
    *,
    deployment_id: str,
    service: str,
    environment: str,
    from_version: str | None,
    to_version: str,
    image_digest: str,
    requester: str,
    now: datetime,
    policy: ApprovalPolicy,
    requester_via: str | None = None,
) -> ApprovalRecord:
    """The deployment's pending request, created on first call (so a resumed deploy reuses it)."""
    existing = store.approval_for_deployment(deployment_id)
    if existing is not None:
        return existing
    record = ApprovalRecord(
        id=new_request_id(),
        deployment_id=deployment_id,
        service=service,
        environment=environment,
        from_version=from_version,
        to_version=to_version,
        image_digest=image_digest,
        requester=requester,
        requester_via=requester_via,
        requested_at=now,
        expires_at=now + timedelta(seconds=policy.expires_after_seconds),
    )
    store.create_approval(record)
    return record


def decide(
    store: Scratchpad,
    request: ApprovalRecord,
    decision: Decision,
    *,
    by: Identity,
    channel: Channel,
    now: datetime,
    policy: ApprovalPolicy,
    reason: str = "",
    expected_digest: str | None = None,
) -> ApprovalRecord:
    """Record a person's decision, or raise `ApprovalError` saying why it is refused.

    From the terminal, an approver must be on the environment's `approval.approvers` (by any name of
    their established identity) wherever the requester may not approve; in Slack the bot has already
    checked the clicker against the Slack approvers (only it can ask Slack for group members).
    """
    # Another process's clock may lag the requester's (the sandbox's virtual time): a decision is
    # never stamped before the request it answers.
    now = max(now, request.requested_at)
    where = f"{request.service} {request.to_version} to {request.environment}"
    if request.status != "pending":
        who = f" by {request.decided_by}" if request.decided_by else ""
        raise ApprovalError(f"The request for {where} was already {request.status}{who}; nothing changed.")
    if now >= request.expires_at:
        expire(store, request, now)
        raise ApprovalError(f"The request for {where} expired at {request.expires_at:%H:%M} UTC; nothing changed.")
    if expected_digest is not None and expected_digest != request.image_digest:
        raise ApprovalError(
            f"This decision was for image {expected_digest[:19]}…, but the pending request for {where}"
            f" is for {request.image_digest[:19]}…; nothing changed."
        )
    if channel == "terminal" and not policy.terminal:
        raise ApprovalError(
            f"Environment '{request.environment}' does not accept decisions from the terminal; use Slack."
        )
    if channel == "slack" and not policy.slack:
        raise ApprovalError(f"Environment '{request.environment}' does not accept decisions from Slack.")
    if not deploy_is_alive(store, request, now):
        dep = request.deployment_id
        raise ApprovalError(
            f"The deploy that asked for this approval ({dep}) is not running any more (its process is gone);"
            f" nothing changed. `runbook resume {dep}` continues it and asks again;"
            f" `runbook resume {dep} --abort` closes it.")
    if decision == "approved":
        if channel == "terminal" and policy.approvers and not by.is_in(policy.approvers):
            raise ApprovalError(f"{by.label} is not an approver for {request.environment}; nothing changed.")
        if by.same_person(request.requester) and not policy.allow_self_approval:
            raise ApprovalError(
                f"{by.label} requested this {request.environment} deploy and cannot approve it;"
                " another approver must."
            )
    if decision == "approved" and canary_verdict(store, request.deployment_id) == "inconclusive":
        reason = OVERRIDE_NOTE + (f" ({reason})" if reason else "")
    stored, won = store.decide_approval(request.id, decision, by.name, now, reason=reason, channel=channel,
                                        via=by.via)
    if not won:
        raise ApprovalError(f"The request for {where} was already {stored.status}; nothing changed.")
    return stored


def deploy_is_alive(store: Scratchpad, request: ApprovalRecord, now: datetime) -> bool:
    """Whether the deploy that opened the request still runs: it holds its lock, which is not stale."""
    from skills.deploy.context import lock_key
    from skills.deploy.liveness import Liveness, liveness

    lock = store.get_lock(lock_key(request.service, request.environment))
    if lock is None or lock.deployment_id != request.deployment_id:
        return False
    return liveness(lock, now) in (Liveness.ALIVE, Liveness.UNKNOWN)


def canary_verdict(store: Scratchpad, deployment_id: str) -> str | None:
    """The deployment's latest canary verdict, from its events (None: its canary was never judged)."""
    for event in reversed(store.events(deployment_id)):
        if event.kind in ("canary_verdict_changed", "canary_judged"):
            verdict = event.payload.get("verdict")
            return verdict if isinstance(verdict, str) else None
    return None


def is_override(record: ApprovalRecord) -> bool:
    """Approved while the canary was inconclusive."""
    return record.status == "approved" and record.reason.startswith(OVERRIDE_NOTE)


def expire(store: Scratchpad, request: ApprovalRecord, now: datetime) -> ApprovalRecord:
    stored, _ = store.decide_approval(request.id, "expired", None, now, reason="no decision in time")
    return stored


def abort(store: Scratchpad, request: ApprovalRecord, now: datetime, reason: str) -> ApprovalRecord:
    """The deploy itself withdraws the request (the canary degraded while waiting)."""
    stored, _ = store.decide_approval(request.id, "aborted", None, now, reason=reason)
    return stored
