"""Attacks on the Slack bot's HTTP door: bursts, slow clients, huge and malformed bodies, unsigned and
legacy payloads. Each checks the request afterwards: nothing is decided that should not be."""

from __future__ import annotations

import json
import socket
import sys
import threading
import types
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest

from tests.agent.slack.conftest import USERS, SlackWorld, wait_until
from tests.agent.slack.test_slack_chat import send_event
from tools import slack_cards
from tools.slack_standin import action_payload, click, signed_headers


def _connect(world: SlackWorld) -> socket.socket:
    parts = urlsplit(world.bot_url)
    return socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=30)


def _raw(world: SlackWorld, data: bytes) -> bytes:
    with _connect(world) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        return b"".join(iter(lambda: sock.recv(65536), b""))


def test_fifty_concurrent_signed_clicks_are_all_acked_and_one_decides(slack_world: SlackWorld) -> None:
    record, message = slack_world.open_request()
    payload = action_payload(message, slack_cards.DENY_ACTION, USERS["carol"], "carol")
    with ThreadPoolExecutor(max_workers=50) as pool:
        statuses = list(pool.map(lambda _: click(slack_world.bot_url, slack_world.secret, payload)[0], range(50)))
    assert statuses == [200] * 50  # none reset, none refused
    assert wait_until(lambda: slack_world.approval(record.id).status == "denied")
    assert slack_world.approval(record.id).decided_by == "carol"


def test_slow_clients_do_not_stop_a_click(slack_world: SlackWorld) -> None:
    record, message = slack_world.open_request()
    slow = [_connect(slack_world) for _ in range(50)]
    for sock in slow:  # a request line and half a header, then nothing (slow loris)
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Le")
    try:
        assert slack_world.click(message, "alice")[0] == 200
        assert wait_until(lambda: slack_world.approval(record.id).status == "approved")
    finally:
        for sock in slow:
            sock.close()


def test_a_64_megabyte_body_is_refused_before_it_is_read(slack_world: SlackWorld) -> None:
    record, _ = slack_world.open_request()
    with _connect(slack_world) as sock:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: 67108864\r\n\r\n" + b"a" * 65536)
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.0 413") or reply.startswith(b"HTTP/1.1 413")
    assert slack_world.approval(record.id).status == "pending"


def test_malformed_and_unsigned_bodies_get_400_or_401_never_a_dropped_connection(slack_world: SlackWorld) -> None:
    record, message = slack_world.open_request()
    body = urllib.parse.urlencode({"payload": json.dumps(action_payload(message, slack_cards.APPROVE_ACTION,
                                                                         USERS["alice"], "alice"))})
    cases = {
        b"no length": b"POST /slack/events HTTP/1.1\r\nHost: x\r\n\r\n",
        b"bad length": b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n",
        b"unsigned": b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body.encode()),
        b"garbage": b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\n\xff\xfe{{{{",
        b"bad timestamp": (b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n"
                           b"X-Slack-Request-Timestamp: soon\r\nX-Slack-Signature: v0=00\r\n\r\n%s"
                           % (len(body), body.encode())),
    }
    for name, request in cases.items():
        reply = _raw(slack_world, request)
        status = reply.split(b" ", 2)[1] if reply else b""
        assert status in (b"400", b"401"), (name, reply[:80])
    assert slack_world.approval(record.id).status == "pending" and message.updates == 0


def test_a_signed_but_stale_or_edited_click_decides_nothing(slack_world: SlackWorld) -> None:
    record, message = slack_world.open_request()
    payload = action_payload(message, slack_cards.APPROVE_ACTION, USERS["alice"], "alice")
    assert click(slack_world.bot_url, slack_world.secret, payload, timestamp=1_000_000_000)[0] == 401
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    headers = signed_headers(body, slack_world.secret)
    edited = body.replace("alice", "carol")
    request = (b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               + "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode()
               + b"Content-Length: %d\r\n\r\n%s" % (len(edited), edited.encode()))
    assert _raw(slack_world, request).split(b" ", 2)[1] == b"401"
    assert slack_world.approval(record.id).status == "pending"


def test_a_legacy_interactive_message_with_the_right_callback_id_decides_nothing(slack_world: SlackWorld) -> None:
    record, message = slack_world.open_request()
    payload = action_payload(message, slack_cards.APPROVE_ACTION, USERS["alice"], "alice")
    legacy = payload | {"type": "interactive_message", "callback_id": slack_cards.APPROVE_ACTION,
                        "actions": [{"name": slack_cards.APPROVE_ACTION, "type": "button",
                                     "value": payload["actions"][0]["value"]}]}
    assert click(slack_world.bot_url, slack_world.secret, legacy)[0] == 200
    done = threading.Event()
    done.wait(0.5)  # give a wrongly accepted click the time to be recorded
    assert slack_world.approval(record.id).status == "pending" and message.updates == 0


def test_ten_chat_requests_that_block_do_not_stop_a_click(slack_world: SlackWorld,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Chat answers (a deploy waiting for its approval, say) run beside Bolt's listener threads."""
    release, started = threading.Event(), []

    def answer(question: str, session_id: str, runtime: object, spawn: object = None) -> str:
        started.append(question)
        release.wait(120)
        return "done"

    monkeypatch.setitem(sys.modules, "agent.conversation", types.SimpleNamespace(answer=answer))
    record, message = slack_world.open_request()
    try:
        for n in range(10):
            event = {"type": "app_mention", "user": "U0MALLORY1", "channel": "C0OPS00001",
                     "ts": f"1700000000.{n:06d}", "text": f"<@U0RUNBOOK01> deploy checkout-api 1.2.{n}"}
            assert send_event(slack_world, f"EvDoS{n}", event) == 200
        assert wait_until(lambda: len(started) >= 8)  # the chat pool is busy with them
        assert slack_world.click(message, "alice")[0] == 200
        assert wait_until(lambda: slack_world.approval(record.id).status == "approved")
    finally:
        release.set()
