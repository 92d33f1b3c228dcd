"""Mentions and DMs: answered by the conversation agent, in the thread, once per event.

Slack retries an event it thinks was missed, so the same `event_id` can arrive twice: the second
delivery is ignored. Text from Slack is the question, never an instruction to the bot itself.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from memory.identity import Identity
from tools import slack_api
from tools.config import RunbookConfig

if TYPE_CHECKING:
    from agent.runtime import Runtime

log = logging.getLogger(__name__)
MENTION = re.compile(r"<@[A-Z0-9]+>")
REMEMBERED_EVENTS = 2048
CHAT_WORKERS = 8  # questions answered at once; more wait their turn
DEPLOY_WORKERS = 8  # deploys asked for in chat running at once (each mostly waits for its approval)


class SeenEvents:
    """A bounded, thread-safe memory of event ids already handled."""

    def __init__(self, size: int = REMEMBERED_EVENTS) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def first_time(self, event_id: str) -> bool:
        with self._lock:
            if event_id in self._ids:
                return False
            self._ids[event_id] = None
            while len(self._ids) > self._size:
                self._ids.popitem(last=False)
            return True


class Chat:
    """Answers run on the chat's own bounded pool, never on Bolt's listener threads: a question that
    takes long (an investigation, a deploy waiting for approval) cannot starve the clicks that Bolt's
    few listener threads must acknowledge within 3 s."""

    def __init__(self, config: RunbookConfig, runtime: Callable[[], Runtime], client: slack_api.SlackClient,
                 workers: int = CHAT_WORKERS) -> None:
        self.config, self.runtime, self.client = config, runtime, client
        self.seen = SeenEvents()
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="runbook-chat")
        # Deploys asked for in chat wait for a person for minutes: a pool of their own, one thread each.
        self.deploys = ThreadPoolExecutor(max_workers=DEPLOY_WORKERS, thread_name_prefix="runbook-deploy")

    def on_event(self, body: dict[str, Any]) -> None:
        event = body.get("event") or {}
        if event.get("type") == "message" and (
                event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype")):
            return
        event_id = str(body.get("event_id") or f"{event.get('channel')}:{event.get('ts')}")
        if not self.seen.first_time(event_id):
            return
        channel, user = str(event.get("channel", "")), str(event.get("user", ""))
        thread_ts = str(event.get("thread_ts") or event.get("ts") or "")
        question = MENTION.sub("", str(event.get("text", ""))).strip()
        if not channel or not thread_ts:
            return
        if user.startswith("B") or user == "USLACKBOT" or event.get("bot_id"):
            return  # bots do not ask runbook to do things
        asker = self.config.slack.runbook_user(user) or f"slack:{user}"
        self.pool.submit(self._reply, question, channel, thread_ts, asker)

    def _reply(self, question: str, channel: str, thread_ts: str, asker: str) -> None:
        text = self._answer(question, f"slack:{channel}:{thread_ts}", asker)
        try:
            self.client.reply_in_thread(channel, thread_ts, text)
        except slack_api.SlackApiError as exc:
            log.warning("could not reply in %s: %s", channel, exc)

    def _answer(self, question: str, session_id: str, asker: str) -> str:
        if not question:
            return "Ask me about a service, e.g. “is checkout-api healthy?”"
        try:
            from agent.conversation import answer  # type: ignore[import-not-found, unused-ignore]
        except ImportError:
            return "I can't answer questions here yet (the conversation agent is not installed)."
        who = Identity(name=asker, via="slack")
        channel, thread_ts = session_id.split(":")[1:3]
        try:
            with self.runtime() as runtime:
                runtime.acting_for = who
                return str(answer(question, session_id, runtime,
                                  spawn=lambda job: self.deploys.submit(self._change, job, who, channel, thread_ts)))
        except Exception as exc:  # noqa: BLE001 - one line for the person, never a traceback in Slack
            log.exception("answering a Slack question failed")
            return f"Sorry, I could not answer that ({type(exc).__name__})."

    def _change(self, job: Callable[[Any], Any], who: Identity, channel: str, thread_ts: str) -> None:
        """A deploy or rollback asked for in chat, on the deploy pool with a runtime of its own; its
        outcome is posted in the thread that asked for it."""
        try:
            with self.runtime() as runtime:
                runtime.acting_for = who
                text = str(job(runtime).text)
        except Exception as exc:  # noqa: BLE001 - said in the thread, never a traceback
            log.exception("a deploy asked for in Slack failed")
            text = f"The change could not run ({type(exc).__name__}: {str(exc)[:200]})."
        try:
            self.client.reply_in_thread(channel, thread_ts, text)
        except slack_api.SlackApiError as exc:
            log.warning("could not reply in %s: %s", channel, exc)
