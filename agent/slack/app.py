"""The Bolt app: routes Approve/Deny clicks, mentions and DMs; verifies every request's signature."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from agent.slack.approvals import ApprovalClicks
from agent.slack.chat import Chat
from tools import slack_api, slack_cards
from tools.config import RunbookConfig


def build_app(config: RunbookConfig, client: slack_api.SlackClient, signing_secret: str) -> App:
    """A Bolt app whose handlers ack first and then work (Bolt answers Slack as soon as ack() runs).
    Each click or message gets its own runtime (`agent.runtime`) over the bot's config."""
    from agent.runtime import runtime_for

    logger = logging.getLogger("runbook.slack.bolt")
    logger.setLevel(logging.ERROR)  # Bolt warns when SLACK_BOT_TOKEN is set and a client is given too
    app = App(client=client.web, signing_secret=signing_secret, process_before_response=False,
              raise_error_for_unhandled_request=False, logger=logger)
    clicks = ApprovalClicks(config, lambda: runtime_for(config), client)
    chat = Chat(config, lambda: runtime_for(config), client)

    # Bolt's action matcher also routes legacy `interactive_message` payloads by callback_id: only a
    # Block Kit button click (block_actions) on one of runbook's own buttons decides anything.
    @app.action(slack_cards.APPROVE_ACTION)
    def approve(ack: Any, body: dict[str, Any]) -> None:
        ack()
        if body.get("type") == "block_actions":
            clicks.handle(body, "approved")

    @app.action(slack_cards.DENY_ACTION)
    def deny(ack: Any, body: dict[str, Any]) -> None:
        ack()
        if body.get("type") == "block_actions":
            clicks.handle(body, "denied")

    @app.event("app_mention")
    def mention(ack: Any, body: dict[str, Any]) -> None:
        ack()
        chat.on_event(body)

    @app.event("message")
    def direct_message(ack: Any, body: dict[str, Any]) -> None:
        ack()
        chat.on_event(body)

    return app
