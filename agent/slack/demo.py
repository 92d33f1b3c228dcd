"""The sandbox demo's Slack: the Web API stand-in, the real bot over HTTP on 127.0.0.1, and a colleague
who clicks Approve on the posted card with a correctly signed request, as Slack would send it."""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from agent.slack.app import build_app
from agent.slack.server import BotServer
from tools import slack_cards
from tools.config import RunbookConfig
from tools.slack_api import SlackClient
from tools.slack_standin import SlackStandin, StandinMessage, action_payload, click

READING_SECONDS = 1.5  # the colleague reads the card before clicking
# A careful colleague waits a little for the canary judge's verdict (the card is redrawn when it comes)
# rather than approving over an inconclusive canary; after this long they approve anyway, as an override.
VERDICT_PATIENCE_SECONDS = 20.0


@dataclass
class SlackDemo:
    standin: SlackStandin
    bot_url: str
    channel: str
    colleague: str
    colleague_id: str
    clicks: list[int] = field(default_factory=list)

    def methods_called(self) -> list[str]:
        """"chat.postMessage ×6", "chat.update ×5": the deploy's thread makes a list of every call too long."""
        counts = Counter(call.method for call in self.standin.calls)
        return [f"{method} ×{count}" if count > 1 else method for method, count in counts.items()]


def _slack_id(config: RunbookConfig, user: str) -> str:
    mapped = config.slack.users.get(user, "")
    return mapped if mapped.startswith(("U", "W")) else "U0" + "".join(c for c in user.upper() if c.isalnum())[:9]


def _asks_for_override(card: StandinMessage) -> bool:
    """The card's Approve button is the override one (the canary is still inconclusive)."""
    return any("override" in e.get("text", {}).get("text", "") for b in card.blocks if b.get("type") == "actions"
               for e in b.get("elements", []))


@contextmanager
def slack_sandbox(config: RunbookConfig, environment: str, requester: str, colleague: str) -> Iterator[SlackDemo]:
    """Serve the stand-in and the bot, point this process's deploys at them, and let the colleague click."""
    token, signing_secret = "xoxb-sandbox-" + secrets.token_hex(12), secrets.token_hex(16)
    standin = SlackStandin(token=token)
    base_url = standin.start()
    bot_config = config.model_copy(deep=True)
    for user in (requester, colleague):
        bot_config.slack.users[user] = _slack_id(config, user)
    server = BotServer(build_app(bot_config, SlackClient(token, base_url), signing_secret), signing_secret=signing_secret)
    demo = SlackDemo(standin, server.start(), config.slack.channel_for(environment), colleague,
                     bot_config.slack.users[colleague])
    stop = threading.Event()

    def colleague_clicks() -> None:
        card = None
        while card is None and not stop.is_set():
            card = standin.wait_for_card(demo.channel, timeout=0.5)
        if card is None or stop.wait(READING_SECONDS):
            return
        deadline = time.monotonic() + VERDICT_PATIENCE_SECONDS
        while _asks_for_override(card) and time.monotonic() < deadline:
            if stop.wait(0.2):
                return
        payload = action_payload(card, slack_cards.APPROVE_ACTION, demo.colleague_id, colleague)
        demo.clicks.append(click(demo.bot_url, signing_secret, payload)[0])

    saved = {name: os.environ.get(name) for name in ("SLACK_BOT_TOKEN", "SLACK_API_URL")}
    os.environ.update({"SLACK_BOT_TOKEN": token, "SLACK_API_URL": base_url})
    thread = threading.Thread(target=colleague_clicks, name="slack-colleague", daemon=True)
    thread.start()
    try:
        yield demo
    finally:
        stop.set()
        thread.join(timeout=5)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        server.stop()
        standin.stop()
