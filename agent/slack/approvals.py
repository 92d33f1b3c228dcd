"""Approve/Deny clicks: acknowledged at once by the app, then checked and recorded here.

A click is accepted only from an approver of the card's environment who, where self-approval is
not allowed, is not the requester. The decision goes through `skills.approval.decide` with the
digest the card showed, so a stale card cannot approve another deploy or another image; the first
decision wins and every later click changes nothing. Refusals are ephemeral replies to the clicker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from memory.identity import Identity
from memory.records import ApprovalRecord
from memory.scratchpad import Scratchpad
from skills import approval as gate
from tools import slack_api, slack_cards
from tools.config import ConfigError, RunbookConfig

if TYPE_CHECKING:
    from agent.runtime import Runtime

log = logging.getLogger(__name__)


class ClickRefused(Exception):
    """A click that changes nothing; the message is shown to the clicker only."""


def is_a_bot(user_id: str) -> bool:
    """Bot users (B…) and Slackbot never decide; a person's ID starts with U or W."""
    return user_id.startswith("B") or user_id == "USLACKBOT" or not slack_api.SLACK_USER_ID.match(user_id)


def slack_identity(config: RunbookConfig, user_id: str) -> Identity:
    """A clicker as runbook records them: their mapped runbook name, else their Slack user ID."""
    mapped = config.slack.runbook_user(user_id)
    return Identity(name=mapped or f"slack:{user_id}", via="slack",
                    aliases=(f"slack:{user_id}", user_id) if mapped else (user_id,))


class ApprovalClicks:
    def __init__(self, config: RunbookConfig, runtime: Callable[[], Runtime], client: slack_api.SlackClient) -> None:
        self.config, self.runtime, self.client = config, runtime, client
        self._own_id: str | None = None

    def handle(self, body: dict[str, Any], decision: gate.Decision) -> None:
        """Process one click (after the ack); never raises for a click a person could make."""
        user_id = str(body.get("user", {}).get("id", ""))
        container = body.get("container") or {}
        channel, message_ts = str(container.get("channel_id", "")), str(container.get("message_ts", ""))
        try:
            self._decide(body, decision, user_id, channel, message_ts)
        except ClickRefused as exc:
            self._tell(channel, user_id, str(exc))
        except (gate.ApprovalError, ConfigError, slack_api.SlackApiError) as exc:
            self._tell(channel, user_id, str(exc))

    def _decide(self, body: dict[str, Any], decision: gate.Decision, user_id: str, channel: str, ts: str) -> None:
        clicked = list((body.get("message") or {}).get("blocks") or [])
        actions = body.get("actions") or [{}]
        value = slack_cards.ButtonValue.decode(str(actions[0].get("value", "")))
        if value is None or not user_id:
            raise ClickRefused("This button does not belong to a runbook approval request; nothing changed.")
        with self.runtime() as runtime:
            store = runtime.store
            record = store.get_approval(value.request_id)
            if record is None or record.deployment_id != value.deployment_id:
                raise ClickRefused("This card does not match any approval request of that deploy; nothing changed.")
            if record.slack_ts and (record.slack_ts, record.slack_channel) != (ts, channel):
                raise ClickRefused("This is not the card runbook posted for that request; nothing changed.")
            env_name, env = self.config.environment(record.environment)
            self._check_clicker(user_id, record, env_name, decision, env.approval.allow_self_approval)
            by = slack_identity(self.config, user_id)  # never the payload's username: anyone can pick one
            try:
                stored = gate.decide(store, record, decision, by=by, channel="slack", now=runtime.wall.now(),
                                     policy=env.approval, expected_digest=value.image_digest)
            except gate.ApprovalError:
                latest = store.get_approval(record.id)
                if latest is not None and latest.status == "expired":
                    self._show(store, latest, None, channel, ts, clicked)
                raise
            self._show(store, stored, f"<@{user_id}>", channel, ts, clicked)

    def _check_clicker(self, user_id: str, record: ApprovalRecord, env_name: str, decision: str,
                       allow_self: bool) -> None:
        if is_a_bot(user_id) or user_id == self._bot_user_id():
            raise ClickRefused("Bots do not decide approvals; nothing changed.")
        route = self.config.slack.for_environment(env_name)
        if route.approvers or route.approver_group:
            allowed = user_id in route.approvers or (
                route.approver_group is not None and user_id in self.client.usergroup_members(route.approver_group))
            if not allowed:
                raise ClickRefused(f"You are not an approver for {env_name}; nothing changed.")
        if decision != "approved" or allow_self:
            return
        requester = slack_api.slack_user_for(self.config, self.client, record.requester)
        if requester is None:
            # Fail closed: without knowing who asked, a click could be the requester's own.
            raise ClickRefused(
                f"runbook cannot tell which Slack user requested this deploy ({record.requester}): map them in"
                " slack.users in runbook.yaml; nothing changed.")
        if requester == user_id:
            raise ClickRefused(
                f"You requested this {env_name} deploy and cannot approve it; another approver must.")

    def _bot_user_id(self) -> str | None:
        if self._own_id is None:
            try:
                self._own_id = self.client.bot_user_id()
            except slack_api.SlackApiError:
                return None
        return self._own_id

    def _show(self, store: Scratchpad, record: ApprovalRecord, who: str | None, channel: str, ts: str,
              clicked: list[dict[str, Any]]) -> None:
        """Replace the buttons with the outcome (on the clicked card if the deploy has not stored it yet)."""
        card = slack_cards.card_for_deployment(store, record.deployment_id, record.id)
        line = slack_cards.outcome_line(record.status, who, record.decided_at, record.reason)
        if card is not None:
            text, blocks = slack_cards.fallback_text(card), slack_cards.request_blocks(card, outcome=line)
        else:  # the deploy has not logged its request event yet: keep the clicked card's own blocks
            blocks = [b for b in clicked if b.get("type") != "actions"]
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": line}})
            text = f"Deployment approval request: {record.service} {record.to_version} to {record.environment}"
        self.client.update_message(record.slack_channel or channel, record.slack_ts or ts, text, blocks)

    def _tell(self, channel: str, user_id: str, text: str) -> None:
        if not channel or not user_id:
            return
        try:
            self.client.post_ephemeral(channel, user_id, text)
        except slack_api.SlackApiError as exc:
            log.warning("could not tell %s why a click was refused: %s", user_id, exc)
