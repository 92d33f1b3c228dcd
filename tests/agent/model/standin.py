"""A local stand-in of the Messages API (and of Bedrock's InvokeModel), speaking the real wire format.

Bound to 127.0.0.1 on a free port. Each request is checked as the real API checks it (every message but
an optional final assistant one must have non-empty content, tool results must follow their tool uses)
and answered with the next scripted response: a reply, an error with the API's own body and headers,
or any raw body (an HTML page with HTTP 200).

    with MessagesStandIn() as api:
        api.script(reply(text("hello")), error(429, "rate_limit_error", "slow down", {"retry-after": "20"}))
        client = anthropic.Anthropic(api_key="test", base_url=api.base_url, max_retries=0)
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Scripted:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool_use(name: str, args: dict[str, Any], block_id: str = "toolu_01") -> dict[str, Any]:
    return {"type": "tool_use", "id": block_id, "name": name, "input": args}


def reply(*content: dict[str, Any], stop: str | None = None, model: str = "claude-sonnet-4-6",
          usage: tuple[int, int] = (100, 20)) -> Scripted:
    stop = stop or ("tool_use" if any(c["type"] == "tool_use" for c in content) else "end_turn")
    body = {"id": "msg_standin", "type": "message", "role": "assistant", "model": model, "content": list(content),
            "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": usage[0], "output_tokens": usage[1]}}
    return Scripted(200, json.dumps(body).encode(), {"content-type": "application/json", "request-id": "req_standin"})


def error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Scripted:
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return Scripted(status, json.dumps(body).encode(), {"content-type": "application/json", **(headers or {})})


def bedrock_error(status: int, kind: str, message: str) -> Scripted:
    """Bedrock's shape: `{"message": ...}` and the error type in a header."""
    return Scripted(status, json.dumps({"message": message}).encode(),
                    {"content-type": "application/json", "x-amzn-errortype": f"{kind}:http://internal.amazon.com/"})


def raw(status: int, body: str, content_type: str = "text/html") -> Scripted:
    return Scripted(status, body.encode(), {"content-type": content_type})


def _invalid(body: dict[str, Any]) -> str | None:
    """What the real API rejects with 400 invalid_request_error (the rules these tests rely on)."""
    messages = body.get("messages") or []
    for i, message in enumerate(messages):
        final_assistant = i == len(messages) - 1 and message.get("role") == "assistant"
        if not message.get("content") and not final_assistant:
            return (f"messages.{i}: all messages must have non-empty content except for the optional final"
                    " assistant message")
    for i, message in enumerate(messages[:-1]):
        uses = [b["id"] for b in message.get("content") or [] if isinstance(b, dict) and b.get("type") == "tool_use"]
        if uses:
            results = [b.get("tool_use_id") for b in messages[i + 1].get("content") or []
                       if isinstance(b, dict) and b.get("type") == "tool_result"]
            if sorted(uses) != sorted(results):
                return f"messages.{i + 1}: tool_use ids were found without tool_result blocks immediately after"
    return None


class MessagesStandIn:
    def __init__(self) -> None:
        self._queue: list[Scripted] = []
        self.requests: list[dict[str, Any]] = []  # {"path", "headers", "body"}
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                length = int(self.headers.get("content-length") or 0)
                data = self.rfile.read(length)
                body = json.loads(data or b"{}")
                with stand_in._lock:
                    stand_in.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    problem = _invalid(body)
                    scripted = (error(400, "invalid_request_error", problem) if problem else
                                stand_in._queue.pop(0) if stand_in._queue else
                                error(500, "api_error", "the stand-in has no scripted response left"))
                self.send_response(scripted.status)
                for name, value in scripted.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(scripted.body)))
                self.end_headers()
                self.wfile.write(scripted.body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, *responses: Scripted) -> None:
        with self._lock:
            self._queue.extend(responses)

    @property
    def left(self) -> int:
        return len(self._queue)

    def __enter__(self) -> MessagesStandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def messages_api() -> Iterator[MessagesStandIn]:
    with MessagesStandIn() as api:
        yield api
