"""The bot over HTTP on 127.0.0.1, the Web API stand-in, and pending approval requests with posted cards."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.slack.app import build_app
from agent.slack.server import BotServer
from memory.records import ApprovalRecord
from memory.scratchpad import Scratchpad
from skills import approval as gate
from skills.deploy.liveness import Holder
from tools import slack_cards
from tools.config import RunbookConfig, load_config
from tools.slack_api import SlackClient
from tools.slack_standin import SlackStandin, StandinMessage, action_payload, click

USERS = {"dev": "U0DEV00001", "alice": "U0ALICE001", "carol": "U0CAROL001", "mallory": "U0MALLORY1"}
DIGEST = "sha256:" + "ab" * 32


@dataclass
class SlackWorld:
    standin: SlackStandin
    bot_url: str
    secret: str
    config: RunbookConfig
    state_dir: Path

    def open_request(self, deployment_id: str = "dep-test00001", requester: str = "dev", digest: str = DIGEST,
                     expires_in: int = 1800) -> tuple[ApprovalRecord, StandinMessage]:
        """A pending production request whose card is posted, as the deploy's approval step leaves it."""
        _, env = self.config.environment("production")
        now = datetime.now(UTC)
        store = Scratchpad.in_dir(self.state_dir)
        # The deploy that asks runs in this process: it holds its lock (a dead deploy's card is refused);
        # an earlier test deploy of the service has ended.
        earlier = store.get_lock("checkout-api/production")
        if earlier is not None:
            store.release_lock("checkout-api/production", earlier.deployment_id)
        store.acquire_lock("checkout-api/production", Holder.this_process(requester).label, deployment_id, now, 3600)
        policy = env.approval.model_copy(update={"expires_after_seconds": expires_in})
        record = gate.open_request(store, deployment_id=deployment_id, service="checkout-api",
                                   environment="production", from_version="1.2.2", to_version="1.2.3",
                                   image_digest=digest, requester=requester, now=now, policy=policy)
        card = slack_cards.ApprovalCard(
            request_id=record.id, deployment_id=deployment_id, operation="Deploy checkout-api v1.2.3 to 100%",
            risk="high", environment="production", service="checkout-api", from_version="1.2.2",
            to_version="1.2.3", image_digest=digest, requester=requester,
            canary_summary=["Error rate: 0.02% (threshold: 1%) ✓"], changes=["Image: 1.2.2 → 1.2.3"],
            rollback_command="runbook deploy checkout-api --version 1.2.2", expires_at=record.expires_at)
        store.append_event(deployment_id, "approval_requested", now,
                           card.model_dump(mode="json") | {"kind": "approval_requested"})
        client = SlackClient(self.standin.token, self.standin.base_url)
        posted = client.post_message("#runbook-approvals", slack_cards.fallback_text(card),
                                     slack_cards.request_blocks(card))
        store.set_approval_message(record.id, posted.channel, posted.ts)
        record = store.get_approval(record.id) or record
        store.close()
        message = self.standin.card("#runbook-approvals", record.id)
        assert message is not None
        return record, message

    def click(self, message: StandinMessage, user: str, action: str = slack_cards.APPROVE_ACTION,
              timestamp: int | None = None) -> tuple[int, str]:
        payload = action_payload(message, action, USERS.get(user, user), user)
        return click(self.bot_url, self.secret, payload, timestamp)

    def approval(self, request_id: str) -> ApprovalRecord:
        store = Scratchpad.in_dir(self.state_dir)
        try:
            record = store.get_approval(request_id)
            assert record is not None
            return record
        finally:
            store.close()

    def ephemeral_texts(self, user: str) -> list[str]:
        return [e["text"] for e in self.standin.ephemeral if e.get("user") == USERS.get(user, user)]


def slack_config(approvers: list[str] | None = None) -> dict[str, Any]:
    data = yaml.safe_load(resources.files("tools.sandbox").joinpath("default_config.yaml").read_text())
    data["slack"] = {"users": dict(USERS), "environments": {
        "production": {"approvers": approvers if approvers is not None else
                       [USERS["dev"], USERS["alice"], USERS["carol"]]}}}
    return data


@pytest.fixture
def slack_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackWorld]:
    token, secret = "xoxb-" + secrets.token_hex(8), secrets.token_hex(16)
    standin = SlackStandin(token=token, emails={"dev@example.com": USERS["dev"]})
    standin.start()
    Path("runbook.yaml").write_text(yaml.safe_dump(slack_config()))
    monkeypatch.setenv("SLACK_BOT_TOKEN", token)
    monkeypatch.setenv("SLACK_API_URL", standin.base_url)
    config = load_config()
    state_dir = config.state_path()
    state_dir.mkdir(parents=True, exist_ok=True)
    app = build_app(config, SlackClient(token, standin.base_url), secret)
    server = BotServer(app, signing_secret=secret)
    url = server.start()
    try:
        yield SlackWorld(standin=standin, bot_url=url, secret=secret, config=config, state_dir=state_dir)
    finally:
        server.stop()
        standin.stop()


def wait_until(check: Callable[[], bool], timeout: float = 120.0) -> bool:
    """Poll `check` until it holds. The timeout only stops a hang: it is no deadline a busy machine
    could miss (what happens after a click is asynchronous, never slow by design)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return check()
