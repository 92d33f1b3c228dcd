"""A local stand-in for the Slack Web API, for the sandbox demo and the tests. It is not Slack.

A small threaded HTTP server on 127.0.0.1 that answers the methods runbook calls (chat.postMessage,
chat.update, chat.postEphemeral, users.lookupByEmail, usergroups.users.list, auth.test) the way
Slack documents them, keeps the messages it was sent, and records every call. It also plays a
person in Slack: `click` sends the bot a correctly signed `block_actions` request, as Slack would.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_sdk.signature import SignatureVerifier

BOT_USER_ID = "U0RUNBOOK01"


@dataclass
class StandinCall:
    method: str
    params: dict[str, Any]


@dataclass
class StandinMessage:
    channel: str  # channel ID
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    updates: int = 0


@dataclass
class SlackStandin:
    """The stand-in's state; `start()` serves it on 127.0.0.1 (port 0: any free port)."""

    token: str
    emails: dict[str, str] = field(default_factory=dict)  # e-mail -> Slack user ID
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    calls: list[StandinCall] = field(default_factory=list)
    messages: list[StandinMessage] = field(default_factory=list)
    ephemeral: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._next_ts = time.time()

    # -- serving -----------------------------------------------------------------------------------

    def start(self, port: int = 0) -> str:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                self._answer()

            def do_POST(self) -> None:  # noqa: N802
                self._answer()

            def _answer(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                params: dict[str, Any] = {k: v[0] for k, v in urllib.parse.parse_qs(url.query).items()}
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if body and "json" in (self.headers.get("Content-Type") or ""):
                    params.update(json.loads(body))
                elif body:
                    params.update({k: v[0] for k, v in urllib.parse.parse_qs(body).items()})
                authorised = self.headers.get("Authorization") == f"Bearer {standin.token}"
                answer = standin.handle(url.path.rsplit("/", 1)[-1], params, authorised)
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="slack-standin", daemon=True).start()
        return self.base_url

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    # -- the Web API ---------------------------------------------------------------------------------

    def handle(self, method: str, params: dict[str, Any], authorised: bool) -> dict[str, Any]:
        with self._lock:
            self.calls.append(StandinCall(method, params))
            if not authorised:
                return {"ok": False, "error": "invalid_auth"}
            handler = getattr(self, "_" + method.replace(".", "_"), None)
            return handler(params) if handler else {"ok": False, "error": "unknown_method"}

    @staticmethod
    def channel_id(channel: str) -> str:
        """"#runbook-approvals" -> a stable channel ID; IDs are kept as they are."""
        if not channel.startswith("#"):
            return channel
        return "C" + "".join(c for c in channel[1:].upper() if c.isalnum())[:10]

    def _blocks(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        blocks = params.get("blocks") or []
        return json.loads(blocks) if isinstance(blocks, str) else list(blocks)

    def _chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        if not params.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        self._next_ts = max(self._next_ts + 0.000001, time.time())
        message = StandinMessage(channel=self.channel_id(params["channel"]), ts=f"{self._next_ts:.6f}",
                                 text=params.get("text", ""), blocks=self._blocks(params),
                                 thread_ts=params.get("thread_ts"))
        self.messages.append(message)
        return {"ok": True, "channel": message.channel, "ts": message.ts,
                "message": {"text": message.text, "blocks": message.blocks, "ts": message.ts}}

    def _chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        for message in self.messages:
            if message.channel == params.get("channel") and message.ts == params.get("ts"):
                message.text, message.blocks = params.get("text", message.text), self._blocks(params)
                message.updates += 1
                return {"ok": True, "channel": message.channel, "ts": message.ts, "text": message.text}
        return {"ok": False, "error": "message_not_found"}

    def _chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        self.ephemeral.append(dict(params))
        return {"ok": True, "message_ts": f"{time.time():.6f}"}

    def _users_lookupByEmail(self, params: dict[str, Any]) -> dict[str, Any]:  # noqa: N802
        user = self.emails.get(params.get("email", ""))
        return {"ok": True, "user": {"id": user}} if user else {"ok": False, "error": "users_not_found"}

    def _usergroups_users_list(self, params: dict[str, Any]) -> dict[str, Any]:
        users = self.usergroups.get(params.get("usergroup", ""))
        return {"ok": True, "users": users} if users is not None else {"ok": False, "error": "no_such_subteam"}

    def _auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "user_id": BOT_USER_ID, "bot_id": "B0RUNBOOK01", "team_id": "T0SANDBOX1",
                "user": "runbook", "team": "sandbox", "url": "https://sandbox.invalid/"}

    # -- a person in Slack ---------------------------------------------------------------------------

    def card(self, channel: str, request_id: str | None = None) -> StandinMessage | None:
        """The newest message in `channel` that has approval buttons (for `request_id`, if given)."""
        with self._lock:
            for message in reversed(self.messages):
                buttons = [e for b in message.blocks if b.get("type") == "actions" for e in b.get("elements", [])]
                if message.channel == self.channel_id(channel) and buttons and (
                        request_id is None or any(request_id in str(e.get("value")) for e in buttons)):
                    return message
        return None

    def wait_for_card(self, channel: str, timeout: float, request_id: str | None = None) -> StandinMessage | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.card(channel, request_id)
            if found is not None:
                return found
            time.sleep(0.02)
        return None


def action_payload(message: StandinMessage, action_id: str, user_id: str, user_name: str) -> dict[str, Any]:
    """The `block_actions` payload Slack sends when `user_id` clicks the button `action_id` of `message`."""
    button = next(e for b in message.blocks if b.get("type") == "actions" for e in b["elements"]
                  if e.get("action_id") == action_id)
    return {
        "type": "block_actions", "user": {"id": user_id, "username": user_name, "name": user_name},
        "api_app_id": "A0RUNBOOK01", "token": "unused", "team": {"id": "T0SANDBOX1"},
        "container": {"type": "message", "channel_id": message.channel, "message_ts": message.ts},
        "channel": {"id": message.channel}, "trigger_id": "0.0.0",
        "message": {"ts": message.ts, "text": message.text, "blocks": message.blocks},
        "response_url": "https://hooks.sandbox.invalid/actions",
        "actions": [{"type": "button", "action_id": action_id, "block_id": "runbook_approval_actions",
                     "value": button["value"], "action_ts": f"{time.time():.6f}"}],
    }


def signed_headers(body: str, signing_secret: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack puts on a request: `v0=` HMAC-SHA256 over `v0:{timestamp}:{body}`."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=stamp, body=body) or ""
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


def post_signed(url: str, body: str, signing_secret: str, content_type: str, timestamp: int | None = None,
                extra_headers: dict[str, str] | None = None) -> tuple[int, str]:
    """POST a request signed as Slack signs it; returns (HTTP status, body)."""
    headers: dict[str, str] = {"Content-Type": content_type} | signed_headers(body, signing_secret, timestamp)
    request = urllib.request.Request(url, data=body.encode(), method="POST", headers=headers | (extra_headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - 127.0.0.1 only
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def click(url: str, signing_secret: str, payload: dict[str, Any], timestamp: int | None = None) -> tuple[int, str]:
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    return post_signed(url, body, signing_secret, "application/x-www-form-urlencoded", timestamp)
