"""Mentions and DMs: acked at once, answered in the thread by the conversation agent, once per event."""

from __future__ import annotations

import json
import sys
import time
import types
from typing import Any

import pytest

from tests.agent.slack.conftest import SlackWorld, wait_until
from tools.slack_standin import post_signed


@pytest.fixture
def asked(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    questions: list[dict[str, Any]] = []

    def answer(question: str, session_id: str, runtime: Any, spawn: Any = None) -> str:
        questions.append({"question": question, "session_id": session_id, "asker": runtime.user})
        return "checkout-api is healthy: 10/10 tasks running."

    monkeypatch.setitem(sys.modules, "agent.conversation", types.SimpleNamespace(answer=answer))
    return questions


def send_event(world: SlackWorld, event_id: str, event: dict[str, Any]) -> int:
    body = json.dumps({"type": "event_callback", "event_id": event_id, "team_id": "T0SANDBOX1",
                       "api_app_id": "A0RUNBOOK01", "event": event, "event_time": int(time.time())})
    return post_signed(world.bot_url, body, world.secret, "application/json")[0]


def test_a_mention_is_answered_in_its_thread_once(slack_world: SlackWorld, asked: list[dict[str, Any]]) -> None:
    event = {"type": "app_mention", "user": "U0ALICE001", "channel": "C0OPS00001", "ts": "1700000000.000100",
             "text": "<@U0RUNBOOK01> is checkout-api healthy?"}
    assert send_event(slack_world, "Ev0001", event) == 200
    assert send_event(slack_world, "Ev0001", event) == 200  # Slack's retry of the same event
    assert wait_until(lambda: any(m.thread_ts for m in slack_world.standin.messages))
    time.sleep(0.2)
    replies = [m for m in slack_world.standin.messages if m.thread_ts]
    assert len(replies) == 1 and replies[0].thread_ts == "1700000000.000100"
    assert replies[0].text == "checkout-api is healthy: 10/10 tasks running."
    assert asked == [{"question": "is checkout-api healthy?", "session_id": "slack:C0OPS00001:1700000000.000100",
                      "asker": "alice"}]


def test_a_direct_message_is_answered_and_the_bots_own_messages_are_not(
        slack_world: SlackWorld, asked: list[dict[str, Any]]) -> None:
    dm = {"type": "message", "channel_type": "im", "user": "U0CAROL001", "channel": "D0CAROL001",
          "ts": "1700000001.000200", "text": "what did we deploy yesterday?"}
    own = dm | {"bot_id": "B0RUNBOOK01", "ts": "1700000001.000300", "text": "an answer"}
    assert send_event(slack_world, "Ev0002", dm) == 200
    assert send_event(slack_world, "Ev0003", own) == 200
    assert wait_until(lambda: any(m.thread_ts for m in slack_world.standin.messages))
    time.sleep(0.2)
    assert [q["question"] for q in asked] == ["what did we deploy yesterday?"]
    assert asked[0]["asker"] == "carol"
