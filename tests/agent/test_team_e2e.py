"""Team mode end to end: three working directories (A and B for two engineers, C for the Slack bot) share
one real PostgreSQL; every command is a `runbook` process of its own, as it would be on three machines."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.agent.cli_support import RUNBOOK
from tests.agent.slack.test_slack_serve import free_port
from tools import slack_cards
from tools.slack_standin import SlackStandin, action_payload, click


@dataclass
class Team:
    root: Path
    database_url: str
    standin: SlackStandin | None = None

    def env(self, user: str, **extra: str) -> dict[str, str]:
        env = os.environ | {"RUNBOOK_DATABASE_URL": self.database_url, "RUNBOOK_USER": user} | extra
        if self.standin is not None:
            env |= {"SLACK_BOT_TOKEN": self.standin.token, "SLACK_API_URL": self.standin.base_url}
        return env

    def dir(self, name: str) -> Path:
        folder = self.root / name
        folder.mkdir(exist_ok=True)
        return folder

    def run(self, where: str, user: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(RUNBOOK + list(args), cwd=self.dir(where), env=self.env(user), capture_output=True,
                              text=True, timeout=120)

    def start(self, where: str, user: str, *args: str, **extra: str) -> subprocess.Popen[str]:
        return subprocess.Popen(RUNBOOK + list(args), cwd=self.dir(where), env=self.env(user, **extra),
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def read_until(process: subprocess.Popen[str], text: str) -> str:
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"ended before {text!r}:\n" + "".join(seen))


def deployment_id(output: str) -> str:
    return next(word for word in output.split() if word.startswith("dep-"))


@pytest.fixture
def team(tmp_path: Path, postgres_url: str) -> Team:
    return Team(root=tmp_path, database_url=postgres_url)


DEPLOY = ("deploy", "checkout-api", "--version", "1.2.3", "-e", "production")


def test_a_deploy_from_a_waits_b_is_refused_b_approves_and_c_sees_it(team: Team) -> None:
    deploy_a = team.start("a", "dev", *DEPLOY)
    try:
        waiting = read_until(deploy_a, "runbook approve dep-")
        dep = deployment_id(waiting.split("runbook approve ", 1)[1])
        refused = team.run("b", "erin", "deploy", "checkout-api", "--version", "1.2.4", "-e", "production")
        assert refused.returncode == 3, refused.stdout + refused.stderr
        assert f"Another deploy of checkout-api to production is in progress: {dep}" in refused.stdout
        approved = team.run("b", "alice", "approve", dep)
        assert approved.returncode == 0, approved.stderr
        output, _ = deploy_a.communicate(timeout=120)
    finally:
        if deploy_a.poll() is None:
            deploy_a.kill()
    assert deploy_a.returncode == 0, output
    assert "✓ Approved by @alice" in output and "DEPLOYMENT SUCCESSFUL" in output
    rows = json.loads(team.run("c", "carol", "history", "-o", "json").stdout)["deployments"]
    assert [(r["id"], r["status"], r["approver"]) for r in rows] == [
        (rows[0]["id"], "checks_failed", None), (dep, "succeeded", "alice")]  # B's refused attempt, A's deploy
    status = team.run("c", "carol", "status", "checkout-api", "-e", "production")
    assert "checkout-api (production): 1.2.3" in status.stdout  # one fleet, seen from every directory


@pytest.fixture
def bot(team: Team) -> Iterator[str]:
    """`runbook slack serve` in directory C, on the team's database; its URL."""
    standin = SlackStandin(token="xoxb-" + secrets.token_hex(8))
    standin.start()
    team.standin = standin
    port, secret = free_port(), secrets.token_hex(16)
    process = team.start("c", "bot", "slack", "serve", "--port", str(port), SLACK_SIGNING_SECRET=secret)
    try:
        while True:
            assert process.poll() is None, process.communicate()[0]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5):  # noqa: S310
                    break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/slack/events|{secret}"
    finally:
        process.terminate()
        process.communicate(timeout=30)
        standin.stop()


def test_a_signed_click_at_the_bot_in_c_releases_the_deploy_waiting_in_a(team: Team, bot: str) -> None:
    url, secret = bot.split("|")
    assert team.standin is not None
    deploy_a = team.start("a", "dev", *DEPLOY)
    try:
        card = team.standin.wait_for_card("#runbook-approvals", timeout=120)
        assert card is not None, "no approval card was posted"
        payload = action_payload(card, slack_cards.APPROVE_ACTION, "U0ALICE001", "alice")
        assert click(url, secret, payload)[0] == 200
        output, _ = deploy_a.communicate(timeout=120)
    finally:
        if deploy_a.poll() is None:
            deploy_a.kill()
    assert deploy_a.returncode == 0, output
    assert "DEPLOYMENT SUCCESSFUL" in output


def test_a_deploy_killed_in_a_is_resumed_from_b(team: Team) -> None:
    deploy_a = team.start("a", "dev", *DEPLOY, RUNBOOK_TIME_SCALE="20")
    read_until(deploy_a, "Observing metrics")
    deploy_a.kill()
    deploy_a.wait(timeout=30)
    rows = json.loads(team.run("b", "dev", "history", "-o", "json").stdout)["deployments"]
    dep = rows[0]["id"]
    assert rows[0]["status"] == "running"
    approver = team.start("c", "alice", "approve", "--service", "checkout-api", "-e", "production", "--wait", "120")
    resumed = team.run("b", "dev", "resume", dep)
    approver.communicate(timeout=120)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"Resuming deployment {dep} from its last checkpoint (step 3, the canary)" in resumed.stdout
    assert "DEPLOYMENT SUCCESSFUL" in resumed.stdout
