"""The approval request as a Slack Block Kit card, and the same card once it is decided.

The card carries what the terminal's approval box carries, including the canary judge's verdict so far
and how much more traffic it needs; while the canary is inconclusive the Approve button says that
approving is an override (the gate records it as one). Its buttons' values bind a click to one
request, one deployment and one image digest. Both the deploy (which posts it, and marks it
expired or aborted) and the bot (which marks it approved or denied) rebuild it from the
`approval_requested` event in the scratchpad, so every version of the card says the same things.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from memory.scratchpad import Scratchpad

APPROVE_ACTION = "runbook_approve"
DENY_ACTION = "runbook_deny"
ACTIONS_BLOCK = "runbook_approval_actions"
OUTCOME_ICONS = {"approved": "✅", "denied": "❌", "expired": "⌛", "aborted": "🛑"}


class ApprovalCard(BaseModel):
    model_config = ConfigDict(extra="ignore")

    request_id: str
    deployment_id: str
    operation: str
    risk: str
    environment: str
    service: str
    from_version: str
    to_version: str
    image_digest: str
    requester: str
    canary_summary: list[str] = []
    changes: list[str] = []
    rollback_command: str
    expires_at: datetime
    canary_verdict: str | None = None  # "healthy", "inconclusive" (approving is then an override)

    @property
    def override(self) -> bool:
        return self.canary_verdict == "inconclusive"


class ButtonValue(BaseModel):
    """What a button click carries back: which request, deployment and image it decides."""

    request_id: str
    deployment_id: str
    image_digest: str

    def encode(self) -> str:
        return json.dumps({"r": self.request_id, "d": self.deployment_id, "i": self.image_digest})

    @classmethod
    def decode(cls, value: str) -> ButtonValue | None:
        try:
            raw = json.loads(value)
            return cls(request_id=raw["r"], deployment_id=raw["d"], image_digest=raw["i"])
        except (ValueError, KeyError, TypeError, ValidationError):
            return None


def fallback_text(card: ApprovalCard) -> str:
    return (f"Deployment approval request: {card.service} {card.from_version or '?'} → {card.to_version}"
            f" to {card.environment}")


def _bullets(lines: list[str], empty: str) -> str:
    return "\n".join(f"• {line}" for line in lines) if lines else f"• {empty}"


def request_blocks(card: ApprovalCard, outcome: str | None = None) -> list[dict[str, Any]]:
    """The card; with `outcome` (one line saying who decided what, when) it has no buttons."""
    digest = card.image_digest
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "🚀 Deployment Approval Request"}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*Operation:*\n{card.operation}"},
            {"type": "mrkdwn", "text": f"*Risk Level:*\n{card.risk.upper()}"},
            {"type": "mrkdwn", "text": f"*Service:*\n{card.service}"},
            {"type": "mrkdwn", "text": f"*Environment:*\n{card.environment}"},
            {"type": "mrkdwn", "text": f"*Version:*\n{card.from_version or '?'} → {card.to_version}"},
            {"type": "mrkdwn", "text": f"*Requested by:*\n{card.requester}"},
        ]},
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Image digest:* `{digest}`"}},
        {"type": "section", "text": {"type": "mrkdwn",
                                     "text": "*Canary Results:*\n" + _bullets(card.canary_summary, "no data")}},
        {"type": "section", "text": {"type": "mrkdwn",
                                     "text": "*Changes:*\n" + _bullets(card.changes, "No config changes")}},
        {"type": "section", "text": {"type": "mrkdwn",
                                     "text": f"*Rollback Command:*\n```{card.rollback_command}```"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": (
            f"Request {card.request_id} · deployment {card.deployment_id}"
            f" · expires {card.expires_at:%H:%M} UTC")}]},
    ]
    if outcome is not None:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": outcome}})
        return blocks
    if card.override:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": (
            "⚠️ *The canary is inconclusive.* Approving now overrides the canary judge, and is recorded as an"
            " override. Waiting lets the judge decide (the card is updated when it does).")}})
    value = ButtonValue(request_id=card.request_id, deployment_id=card.deployment_id, image_digest=digest).encode()
    blocks.append({"type": "actions", "block_id": ACTIONS_BLOCK, "elements": [
        {"type": "button", "action_id": APPROVE_ACTION, "style": "primary", "value": value,
         "text": {"type": "plain_text", "text": "✅ Approve anyway (override)" if card.override else "✅ Approve"}},
        {"type": "button", "action_id": DENY_ACTION, "style": "danger", "value": value,
         "text": {"type": "plain_text", "text": "❌ Deny"}},
    ]})
    return blocks


def outcome_line(status: str, who: str | None, at: datetime | None, reason: str = "") -> str:
    """"✅ Approved by <@U…> at 15:10 UTC", "⌛ Expired at 15:40 UTC: no decision in time", …"""
    icon = OUTCOME_ICONS.get(status, "•")
    line = f"{icon} *{status.capitalize()}*"
    if who:
        line += f" by {who}"
    if at is not None:
        line += f" at {at:%H:%M} UTC"
    return line + (f": {reason}" if reason else "")


def card_for_deployment(store: Scratchpad, deployment_id: str, request_id: str) -> ApprovalCard | None:
    """The card as the deploy posted it (its `approval_requested` event), with the canary's verdict as
    it stands now (the latest `canary_verdict_changed` after it)."""
    latest: dict[str, Any] | None = None
    for event in reversed(store.events(deployment_id)):
        if event.kind == "canary_verdict_changed" and latest is None:
            latest = event.payload
        if event.kind == "approval_requested" and event.payload.get("request_id") == request_id:
            try:
                card = ApprovalCard.model_validate(event.payload)
            except ValidationError:
                return None
            if latest is not None:
                card = card.model_copy(update={"canary_verdict": latest.get("verdict"),
                                               "canary_summary": list(latest.get("summary") or card.canary_summary)})
            return card
    return None
