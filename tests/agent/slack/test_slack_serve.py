"""`runbook slack serve` itself: the served process over HTTP on 127.0.0.1, its mode, its tokens, its stop."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.slack import server as bot_server
from agent.slack.service import choose_mode
from tests.agent.cli_support import RUNBOOK, run_cli
from tests.agent.slack.conftest import USERS, SlackWorld, slack_config, wait_until
from tests.agent.slack.test_slack_clicks import card_text, has_buttons
from tools import slack_cards
from tools.config import load_config
from tools.slack_standin import SlackStandin, action_payload, click

SLACK_ENV = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "SLACK_API_URL")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(port: int, mode: str = "auto") -> None:
    data = slack_config()
    data["slack"] |= {"host": "127.0.0.1", "port": port, "mode": mode}
    Path("runbook.yaml").write_text(yaml.safe_dump(data))


def clean_env(**values: str) -> dict[str, str]:
    """This process's environment without any Slack token of the developer's shell, plus `values`."""
    return {k: v for k, v in os.environ.items() if k not in SLACK_ENV} | values


@pytest.fixture
def standin() -> Iterator[SlackStandin]:
    stand = SlackStandin(token="xoxb-" + secrets.token_hex(12), emails={"dev@example.com": USERS["dev"]})
    stand.start()
    try:
        yield stand
    finally:
        stand.stop()


@dataclass
class Served:
    world: SlackWorld
    process: subprocess.Popen[str]

    def stop(self, how: signal.Signals) -> tuple[int, str]:
        self.process.send_signal(how)
        output, _ = self.process.communicate(timeout=30)
        return self.process.returncode, output


@pytest.fixture
def served(standin: SlackStandin) -> Iterator[Served]:
    """`runbook slack serve` in its own process, HTTP mode, port from runbook.yaml, tokens from the environment."""
    port, secret = free_port(), secrets.token_hex(16)
    write_config(port)
    env = clean_env(SLACK_BOT_TOKEN=standin.token, SLACK_SIGNING_SECRET=secret, SLACK_API_URL=standin.base_url)
    process = subprocess.Popen(RUNBOOK + ["slack", "serve"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, f"the bot exited early: {process.communicate()[0]}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1) as health:  # noqa: S310
                    if health.status == 200:
                        break
            except OSError:
                assert time.monotonic() < deadline, "the bot never listened"
                time.sleep(0.05)
        config = load_config()
        world = SlackWorld(standin=standin, bot_url=f"http://127.0.0.1:{port}/slack/events", secret=secret,
                           config=config, state_dir=config.state_path())
        yield Served(world, process)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint"])
def test_the_served_bot_records_a_signed_click_refuses_a_forged_one_and_stops_cleanly(
        served: Served, how: signal.Signals) -> None:
    world = served.world
    world.state_dir.mkdir(parents=True, exist_ok=True)
    record, message = world.open_request()  # through skills.approval.open_request, on the shared store
    calls_before = len(world.standin.calls)
    forged_deny = action_payload(message, slack_cards.DENY_ACTION, USERS["carol"], "carol")  # as first seen

    # Badly signed: refused before any handler runs, and nothing is recorded anywhere.
    forged = action_payload(message, slack_cards.APPROVE_ACTION, USERS["alice"], "alice")
    assert click(world.bot_url, "not-the-signing-secret", forged)[0] == 401
    time.sleep(0.3)
    assert world.approval(record.id).status == "pending"
    assert len(world.standin.calls) == calls_before and world.standin.ephemeral == []
    assert message.updates == 0 and has_buttons(message)

    # Correctly signed: 200, the decision is in the store and the card was updated in place.
    assert world.click(message, "alice")[0] == 200
    assert wait_until(lambda: world.approval(record.id).status == "approved")
    stored = world.approval(record.id)
    assert (stored.decided_by, stored.channel) == ("alice", "slack")
    assert wait_until(lambda: message.updates == 1)
    updates = [c for c in world.standin.calls if c.method == "chat.update"]
    assert [(c.params["channel"], c.params["ts"]) for c in updates] == [(message.channel, message.ts)]
    assert not has_buttons(message) and f"Approved* by <@{USERS['alice']}>" in card_text(message)

    # A forged Deny afterwards changes nothing either.
    calls_before = len(world.standin.calls)
    assert click(world.bot_url, world.secret + "x", forged_deny)[0] == 401
    time.sleep(0.3)
    assert world.approval(record.id).status == "approved" and len(world.standin.calls) == calls_before

    code, output = served.stop(how)
    assert code == 0, output
    assert "Traceback" not in output
    # One log line per refused request, nothing else.
    assert output.strip().splitlines() == [f"runbook Slack bot: listening on {world.bot_url}"] + [
        "Slack bot: refused a request (401: bad or missing Slack signature)"] * 2
    assert world.standin.token not in output and world.secret not in output


def test_the_served_bot_never_prints_its_tokens_even_when_slack_refuses_them(standin: SlackStandin) -> None:
    write_config(free_port())
    bot_token, secret = "xoxb-" + secrets.token_hex(12), secrets.token_hex(16)  # not the stand-in's token
    env = clean_env(SLACK_BOT_TOKEN=bot_token, SLACK_SIGNING_SECRET=secret, SLACK_API_URL=standin.base_url)
    done = subprocess.run(RUNBOOK + ["slack", "serve"], env=env, capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "could not start" in output and "SLACK_BOT_TOKEN" in output and "Traceback" not in output
    assert bot_token not in output and secret not in output


def test_a_port_in_use_is_one_sentence_not_a_traceback(standin: SlackStandin) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        write_config(port)
        env = clean_env(SLACK_BOT_TOKEN=standin.token, SLACK_SIGNING_SECRET="s" * 32,
                        SLACK_API_URL=standin.base_url)
        done = subprocess.run(RUNBOOK + ["slack", "serve"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().startswith(f"Error: the Slack bot cannot listen on 127.0.0.1:{port}")


@pytest.mark.parametrize(("env", "missing"), [
    ({"SLACK_SIGNING_SECRET": "s" * 32}, "SLACK_BOT_TOKEN"),
    ({"SLACK_BOT_TOKEN": "xoxb-" + "0" * 24}, "SLACK_SIGNING_SECRET"),
    ({"SLACK_APP_TOKEN": "xapp-" + "0" * 24}, "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET"),
], ids=["no-bot-token", "no-signing-secret", "neither"])
def test_a_missing_token_is_one_sentence_and_exit_2(env: dict[str, str], missing: str) -> None:
    write_config(free_port())
    done = subprocess.run(RUNBOOK + ["slack", "serve"], env=clean_env(**env), capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr == f"Error: set {missing} in the environment to run the Slack bot.\n"
    for value in env.values():
        assert value not in done.stderr


# -- mode selection -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("flag", "configured", "app_token", "expected"), [
    (None, "auto", "xapp-1", "socket"),
    (None, "auto", None, "http"),
    (None, "http", "xapp-1", "http"),
    ("http", "auto", "xapp-1", "http"),
    ("HTTP", "socket", "xapp-1", "http"),
    ("socket", "auto", None, "socket"),  # then refused for want of SLACK_APP_TOKEN
    ("auto", "http", "xapp-1", "socket"),
])
def test_choose_mode(flag: str | None, configured: str, app_token: str | None, expected: str) -> None:
    assert choose_mode(flag, configured, app_token) == expected


@pytest.fixture
def handlers(monkeypatch: pytest.MonkeyPatch, standin: SlackStandin) -> dict[str, list[Any]]:
    """Tokens in this process's environment, and both ways of serving recorded instead of run (nothing connects)."""
    from slack_bolt.adapter import socket_mode

    started: dict[str, list[Any]] = {"socket": [], "http": []}

    class RecordedSocketMode(socket_mode.SocketModeHandler):  # type: ignore[misc]
        def start(self) -> None:  # the real handler, built but never connected
            started["socket"].append(self)
            self.close()

    def recorded_http(self: bot_server.BotServer) -> None:
        started["http"].append(self)
        self.httpd.server_close()

    for name in SLACK_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", standin.token)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", secrets.token_hex(16))
    monkeypatch.setenv("SLACK_API_URL", standin.base_url)
    monkeypatch.setattr(socket_mode, "SocketModeHandler", RecordedSocketMode)
    monkeypatch.setattr(bot_server.BotServer, "serve_forever", recorded_http)
    return started


def test_auto_mode_with_an_app_token_serves_socket_mode(handlers: dict[str, list[Any]],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from slack_bolt import App

    write_config(0, mode="auto")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-" + secrets.token_hex(8))
    result = run_cli("slack", "serve")
    assert result.exit_code == 0, result.output
    (handler,) = handlers["socket"]
    assert handlers["http"] == []
    assert isinstance(handler.app, App) and handler.app_token == os.environ["SLACK_APP_TOKEN"]
    assert "Socket Mode" in result.output and os.environ["SLACK_APP_TOKEN"] not in result.output


@pytest.mark.parametrize(("configured", "flag", "app_token"), [
    ("http", None, "xapp-1-abc"), ("auto", "http", "xapp-1-abc"), ("auto", None, None),
], ids=["config-http", "flag-http", "no-app-token"])
def test_http_mode_when_asked_or_without_an_app_token(handlers: dict[str, list[Any]], monkeypatch: pytest.MonkeyPatch,
                                                      configured: str, flag: str | None,
                                                      app_token: str | None) -> None:
    write_config(0, mode=configured)
    if app_token:
        monkeypatch.setenv("SLACK_APP_TOKEN", app_token)
    result = run_cli("slack", "serve", *(["--mode", flag] if flag else []))
    assert result.exit_code == 0, result.output
    (server,) = handlers["http"]
    assert handlers["socket"] == []
    assert isinstance(server, bot_server.BotServer) and server.httpd.server_address[0] == "127.0.0.1"
    assert f"listening on {server.url}" in result.output


def test_an_unknown_mode_is_bad_input(handlers: dict[str, list[Any]]) -> None:
    write_config(0)
    result = run_cli("slack", "serve", "--mode", "carrier-pigeon")
    assert result.exit_code == 2
    assert "--mode must be http or socket" in result.output and handlers == {"socket": [], "http": []}

