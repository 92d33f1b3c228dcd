"""The Slack side of step 4: post the approval card, and mark it when the deploy itself ends the wait.

The bot (`runbook slack serve`) owns every click and updates the card for approvals and denials
made in Slack; the deploy updates it when the request expires, the canary degrades, the canary's
verdict changes while waiting, or someone decided from the terminal, so a card never keeps live
buttons for a request that is over.
"""

from __future__ import annotations

import logging

from memory.records import ApprovalRecord
from skills.deploy.context import DeployContext
from skills.events import ApprovalRequested
from tools import slack_api, slack_cards

log = logging.getLogger(__name__)


def post_card(ctx: DeployContext, record: ApprovalRecord, event: ApprovalRequested) -> str | None:
    """Post the request card; returns the event channel ("slack:#runbook-approvals"), or None when the
    card could not be posted but the terminal may still decide. Raises SlackApiError when Slack is the
    only way to decide and it cannot be reached."""
    policy, env_name = ctx.env.approval, ctx.request.environment
    channel = ctx.config.slack.channel_for(env_name)
    label = "slack:" + channel
    if record.slack_ts:  # a resumed deploy: the card is already there
        return label
    client = ctx.resources.slack()
    try:
        if client is None:
            raise slack_api.SlackApiError(
                f"Environment '{env_name}' asks for approval in Slack, but SLACK_BOT_TOKEN is not set.")
        card = slack_cards.ApprovalCard.model_validate(
            event.model_dump() | {"deployment_id": ctx.request.deployment_id})
        posted = client.post_message(channel, slack_cards.fallback_text(card), slack_cards.request_blocks(card))
    except slack_api.SlackApiError as exc:
        if not policy.terminal:
            raise
        event.how_to_decide.insert(0, f"The Slack card was not posted ({exc}) Decide from the terminal.")
        return None
    ctx.store.set_approval_message(record.id, posted.channel, posted.ts)
    return label


def refresh_card(ctx: DeployContext, record: ApprovalRecord) -> None:
    """Redraw a pending card after the canary's verdict changed (its buttons stay)."""
    if not record.slack_ts or not record.slack_channel or record.status != "pending":
        return
    client = ctx.resources.slack()
    card = slack_cards.card_for_deployment(ctx.store, record.deployment_id, record.id)
    if client is None or card is None:
        return
    try:
        client.update_message(record.slack_channel, record.slack_ts, slack_cards.fallback_text(card),
                              slack_cards.request_blocks(card))
    except slack_api.SlackApiError as exc:
        log.warning("could not update the approval card of %s: %s", record.id, exc)


def show_outcome(ctx: DeployContext, record: ApprovalRecord) -> None:
    """Replace the card's buttons with the outcome, unless the bot already did (Slack decisions)."""
    if not record.slack_ts or not record.slack_channel or record.channel == "slack":
        return
    client = ctx.resources.slack()
    card = slack_cards.card_for_deployment(ctx.store, record.deployment_id, record.id)
    if client is None or card is None:
        return
    reason = record.reason
    if record.status == "aborted":
        reason += ". The deploy stopped and its canary is removed."
    who = f"@{record.decided_by}" if record.decided_by else None
    line = slack_cards.outcome_line(record.status, who, record.decided_at, reason)
    try:
        client.update_message(record.slack_channel, record.slack_ts, slack_cards.fallback_text(card),
                              slack_cards.request_blocks(card, outcome=line))
    except slack_api.SlackApiError as exc:
        log.warning("could not update the approval card of %s: %s", record.id, exc)
