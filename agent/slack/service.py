"""`runbook slack serve`: load the config, read the tokens, start the bot in HTTP or Socket Mode."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any

from memory.outcome import Stopped

EXIT_BAD_INPUT = 2


def choose_mode(mode: str | None, configured: str, app_token: str | None) -> str:
    """--mode, else slack.mode; "auto" is Socket Mode when SLACK_APP_TOKEN is set, else HTTP."""
    chosen = (mode or configured).lower()
    if chosen == "auto":
        return "socket" if app_token else "http"
    return chosen


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _fail(message: str, code: int) -> int:
    """One sentence on stderr (and, with --output json, the stream's "error" line)."""
    from agent import cli_output as out

    print(f"Error: {message}", file=sys.stderr)
    out.error("slack serve", message, code)
    return code


def _serving(mode: str, url: str | None) -> None:
    """The line that says the bot is up: text, or with --output json a "serving" event."""
    from agent import cli_output as out

    if out.current().json:
        out.json_line({"kind": "serving", "command": "slack serve", "mode": mode, "url": url})
    else:
        print(f"runbook Slack bot: {'Socket Mode.' if url is None else f'listening on {url}'}", flush=True)


def run_service(config_path: Path | None, port: int | None, host: str | None, mode: str | None) -> int:
    """Run the bot until Ctrl-C or SIGTERM. With --output json, stdout carries JSON lines only (a "serving"
    event once it listens, an "error" line if it cannot start); the bot's logs go to stderr."""
    from tools.config import ConfigError, load_config

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    token, secret = os.environ.get("SLACK_BOT_TOKEN"), os.environ.get("SLACK_SIGNING_SECRET")
    app_token = os.environ.get("SLACK_APP_TOKEN")
    chosen = choose_mode(mode, config.slack.mode, app_token)
    missing = [name for name, value in (("SLACK_BOT_TOKEN", token), ("SLACK_SIGNING_SECRET", secret),
                                        ("SLACK_APP_TOKEN", app_token if chosen == "socket" else "-")) if not value]
    if chosen not in ("http", "socket"):
        return _fail(f"--mode must be http or socket, not '{chosen}'.", EXIT_BAD_INPUT)
    if missing:
        return _fail(f"set {' and '.join(missing)} in the environment to run the Slack bot.", EXIT_BAD_INPUT)
    assert token and secret
    from agent.slack.app import build_app
    from agent.slack.server import BotServer, serve_socket_mode
    from tools.slack_api import SlackClient, api_base_url

    try:
        app = build_app(config, SlackClient(token, api_base_url(config)), secret)
    except Exception as exc:  # noqa: BLE001 - Bolt checks the token with auth.test at start
        return _fail(f"the Slack bot could not start ({type(exc).__name__}: check SLACK_BOT_TOKEN).", 1)
    # SIGTERM (systemd, Kubernetes, `kill`) stops the bot as Ctrl-C does, without a traceback; clicks
    # already acknowledged finish first (Bolt's worker threads are joined at exit).
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _interrupt) if in_main_thread else None
    try:
        if chosen == "socket":
            assert app_token
            _serving("socket", None)
            serve_socket_mode(app, app_token)
        else:
            bind_host, bind_port = host or config.slack.host, config.slack.port if port is None else port
            try:
                server = BotServer(app, bind_host, bind_port, signing_secret=secret)
            except OSError as exc:
                return _fail(f"the Slack bot cannot listen on {bind_host}:{bind_port} ({exc.strerror or exc});"
                             " set slack.port in runbook.yaml or pass --port.", 1)
            _serving("http", server.url)
            server.serve_forever()
    except (KeyboardInterrupt, Stopped):
        return 0
    finally:
        if in_main_thread and previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0
