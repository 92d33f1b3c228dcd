"""`runbook slack serve`: load the config, read the tokens, start the bot in HTTP or Socket Mode."""

from __future__ import annotations

import os
import sys
from pathlib import Path

EXIT_BAD_INPUT = 2


def run_service(config_path: Path | None, port: int | None, host: str | None, mode: str | None) -> int:
    from tools.config import ConfigError, load_config

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    token, secret = os.environ.get("SLACK_BOT_TOKEN"), os.environ.get("SLACK_SIGNING_SECRET")
    app_token = os.environ.get("SLACK_APP_TOKEN")
    chosen = (mode or config.slack.mode).lower()
    if chosen == "auto":
        chosen = "socket" if app_token else "http"
    missing = [name for name, value in (("SLACK_BOT_TOKEN", token), ("SLACK_SIGNING_SECRET", secret),
                                        ("SLACK_APP_TOKEN", app_token if chosen == "socket" else "-")) if not value]
    if chosen not in ("http", "socket"):
        print(f"Error: --mode must be http or socket, not '{chosen}'.", file=sys.stderr)
        return EXIT_BAD_INPUT
    if missing:
        print(f"Error: set {' and '.join(missing)} in the environment to run the Slack bot.", file=sys.stderr)
        return EXIT_BAD_INPUT
    assert token and secret
    from agent.slack.app import build_app
    from agent.slack.server import BotServer, serve_socket_mode
    from tools.slack_api import SlackClient, api_base_url

    try:
        app = build_app(config, config.state_path(), SlackClient(token, api_base_url(config)), secret)
    except Exception as exc:  # noqa: BLE001 - Bolt checks the token with auth.test at start
        print(f"Error: the Slack bot could not start ({type(exc).__name__}: check SLACK_BOT_TOKEN).",
              file=sys.stderr)
        return 1
    try:
        if chosen == "socket":
            assert app_token
            print("runbook Slack bot: Socket Mode.", flush=True)
            serve_socket_mode(app, app_token)
        else:
            server = BotServer(app, host or config.slack.host, config.slack.port if port is None else port)
            print(f"runbook Slack bot: listening on {server.url}", flush=True)
            server.serve_forever()
    except KeyboardInterrupt:
        return 0
    return 0
