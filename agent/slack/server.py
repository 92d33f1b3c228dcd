"""Serving the Bolt app: HTTP (a threaded server, one thread per request) or Socket Mode."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_bolt import App, BoltRequest


class BotServer:
    """The app over HTTP on (host, port); port 0 picks a free one. Any POST path reaches the app."""

    def __init__(self, app: App, host: str = "127.0.0.1", port: int = 0) -> None:
        bolt = app

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - a health check for load balancers
                self._reply(200, {"Content-Type": ["text/plain"]}, "ok")

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode("utf-8")
                query = self.path.split("?", 1)[1] if "?" in self.path else None
                headers: dict[str, str | Sequence[str]] = {k.lower(): [v] for k, v in self.headers.items()}
                response = bolt.dispatch(BoltRequest(body=body, query=query, headers=headers))
                self._reply(response.status, response.headers, response.body)

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

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
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


def serve_socket_mode(app: App, app_token: str) -> None:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    SocketModeHandler(app, app_token).start()
