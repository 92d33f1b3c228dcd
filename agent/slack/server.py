"""Serving the Bolt app: HTTP (a bounded threaded server) or Socket Mode.

The HTTP side faces the internet, so it is defensive before Bolt sees anything: a listen backlog of
128 (a burst of clicks is queued, never reset), at most `MAX_CONNECTIONS` requests handled at once
(more wait in the backlog), a read timeout per connection (a slow client cannot hold a thread), a
body limit read from Content-Length before the body, and the Slack signature verified over the raw
bytes before any parsing. Malformed or unsigned input gets 400/401 and one log line, never a traceback.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_bolt import App, BoltRequest
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024  # Slack's interaction payloads are a few KiB
READ_TIMEOUT_SECONDS = 3.0
MAX_CONNECTIONS = 128  # a thread each; more than a burst of slow clients, so a click always finds one
LISTEN_BACKLOG = 128


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self.slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.slots.acquire()  # blocks accepting: further connections wait in the backlog
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:  # one line, no traceback
        log.warning("Slack bot: a connection from %s failed", client_address[0] if client_address else "?")


def _reject(status: int, why: str) -> tuple[int, str]:
    log.warning("Slack bot: refused a request (%d: %s)", status, why)
    return status, why


class BotServer:
    """The app over HTTP on (host, port); port 0 picks a free one. Any POST path reaches the app."""

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 0, signing_secret: str | None = None) -> None:
        bolt = app
        verifier = SignatureVerifier(signing_secret) if signing_secret else None

        class Handler(BaseHTTPRequestHandler):
            timeout = READ_TIMEOUT_SECONDS  # applies to every read of the request line, headers and body

            def do_GET(self) -> None:  # noqa: N802 - a health check for load balancers
                self._reply(200, {"Content-Type": ["text/plain"]}, "ok")

            def do_POST(self) -> None:  # noqa: N802
                raw, refused = self._read_body()
                if refused is not None:
                    self._reply(refused[0], {"Content-Type": ["text/plain"]}, refused[1])
                    return
                body = raw.decode("utf-8")
                query = self.path.split("?", 1)[1] if "?" in self.path else None
                headers: dict[str, str | Sequence[str]] = {k.lower(): [v] for k, v in self.headers.items()}
                response = bolt.dispatch(BoltRequest(body=body, query=query, headers=headers))
                self._reply(response.status, response.headers, response.body)

            def _read_body(self) -> tuple[bytes, tuple[int, str] | None]:
                length_header = self.headers.get("Content-Length")
                if length_header is None or not length_header.isdigit():
                    return b"", _reject(400, "a body with a valid Content-Length is required")
                length = int(length_header)
                if length > MAX_BODY_BYTES:
                    self.close_connection = True  # the body is never read
                    return b"", _reject(413, f"body over {MAX_BODY_BYTES} bytes")
                raw = self.rfile.read(length)
                if len(raw) < length:
                    return raw, _reject(400, "the body ended early")
                if verifier is not None and not _signed(verifier, raw, self.headers):
                    return raw, _reject(401, "bad or missing Slack signature")
                try:
                    raw.decode("utf-8")
                except UnicodeDecodeError:
                    return raw, _reject(400, "the body is not UTF-8")
                return raw, None

            def _reply(self, status: int, headers: dict[str, Any], body: str) -> None:
                data = body.encode("utf-8")
                self.send_response(status)
                for key, values in headers.items():
                    if key.lower() != "content-length":
                        for value in values if isinstance(values, list) else [values]:
                            self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - no request logs
                pass

        self.httpd = _Server((host, port), Handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = str(self.httpd.server_address[0]), self.httpd.server_address[1]
        return f"http://{host}:{port}/slack/events"

    def start(self) -> str:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="runbook-slack-bot", daemon=True)
        self._thread.start()
        return self.url

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _signed(verifier: SignatureVerifier, raw: bytes, headers: Any) -> bool:
    timestamp, signature = headers.get("X-Slack-Request-Timestamp"), headers.get("X-Slack-Signature")
    if not timestamp or not signature or not timestamp.isdigit():
        return False  # slack_sdk raises ValueError on a non-numeric timestamp: decide before asking it
    if abs(time.time() - int(timestamp)) > 60 * 5:
        return False
    try:
        return verifier.is_valid(body=raw.decode("utf-8", errors="replace"), timestamp=timestamp,
                                 signature=signature)
    except ValueError:
        return False


def serve_socket_mode(app: App, app_token: str) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    SocketModeHandler(app, app_token).start()
