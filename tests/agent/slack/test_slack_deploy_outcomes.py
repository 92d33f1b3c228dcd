"""A deploy that ends its own wait (the canary degraded, the request expired) updates its Slack card in place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.agent.cli_support import canary_degrades_while_waiting, fleet_snapshot, run_cli
from tests.agent.slack.conftest import SlackWorld, slack_config
from tools import slack_cards
from tools.slack_standin import StandinCall, StandinMessage


def deploy_to_production():  # type: ignore[no-untyped-def]
    return run_cli("deploy", "checkout-api", "--version", "1.2.3", "--environment", "production")


def the_posted_card(world: SlackWorld) -> StandinMessage:
    posts = [m for m in world.standin.messages if m.channel == world.standin.channel_id("#runbook-approvals")
             and m.thread_ts is None]
    assert len(posts) == 1, f"expected one approval card, got {len(posts)}"
    return posts[0]


def updates_of(world: SlackWorld, message: StandinMessage) -> list[StandinCall]:
    return [call for call in world.standin.calls if call.method == "chat.update"
            and (call.params.get("channel"), call.params.get("ts")) == (message.channel, message.ts)]


def blocks_of(call: StandinCall) -> list[dict]:  # type: ignore[type-arg]
    blocks = call.params.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


def has_buttons(blocks: list[dict]) -> bool:  # type: ignore[type-arg]
    return any(block.get("type") == "actions" for block in blocks)


def test_a_canary_that_degrades_while_waiting_marks_the_card_aborted(
        slack_world: SlackWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    # Stand-in: the canary's metrics turn bad while nobody has decided yet (as in test_deploy_cli).
    canary_degrades_while_waiting(monkeypatch)
    result = deploy_to_production()
    assert result.exit_code == 4, result.output
    assert "Approval aborted: canary degraded while waiting" in result.output

    card = the_posted_card(slack_world)
    (update,) = updates_of(slack_world, card)
    blocks = blocks_of(update)
    assert not has_buttons(blocks) and slack_cards.ACTIONS_BLOCK not in json.dumps(blocks)
    outcome = blocks[-1]["text"]["text"]
    assert outcome.startswith("🛑 *Aborted*")
    assert "canary degraded while waiting" in outcome and "canary is removed" in outcome
    assert card.blocks == blocks and card.updates == 1  # the same message, updated in place
    assert fleet_snapshot()["canary"] == []
    assert fleet_snapshot()["version"] == "1.2.2"


def test_an_expired_request_marks_the_card_expired(slack_world: SlackWorld) -> None:
    data = slack_config()
    data["environments"]["production"]["approval"]["expires_after_seconds"] = 10
    Path("runbook.yaml").write_text(yaml.safe_dump(data))
    result = deploy_to_production()
    assert result.exit_code == 5, result.output
    assert "APPROVAL EXPIRED" in result.output

    card = the_posted_card(slack_world)
    *refreshed, update = updates_of(slack_world, card)  # before: redrawn if the canary's verdict changed
    assert all(has_buttons(blocks_of(call)) for call in refreshed)
    blocks = blocks_of(update)
    assert not has_buttons(blocks)
    outcome = blocks[-1]["text"]["text"]
    assert outcome.startswith("⌛ *Expired*") and "no decision in time" in outcome
    assert card.blocks == blocks and card.updates == len(refreshed) + 1
    assert fleet_snapshot()["canary"] == []


def _button_texts(blocks: list[dict]) -> list[str]:  # type: ignore[type-arg]
    return [e["text"]["text"] for b in blocks if b.get("type") == "actions" for e in b["elements"]]


def test_the_card_asks_for_an_override_while_inconclusive_and_follows_the_verdict(
        slack_world: SlackWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    from skills.deploy import approval_step

    monkeypatch.setattr(approval_step, "POLL_SECONDS", 30.0)  # minutes of canary traffic per wall second
    data = slack_config()
    data["environments"]["production"]["approval"]["expires_after_seconds"] = 10
    Path("runbook.yaml").write_text(yaml.safe_dump(data))
    assert deploy_to_production().exit_code == 5

    card = the_posted_card(slack_world)
    posted = next(c for c in slack_world.standin.calls if c.method == "chat.postMessage")
    first = blocks_of(posted)
    assert _button_texts(first) == ["✅ Approve anyway (override)", "❌ Deny"]
    assert "The canary is inconclusive" in json.dumps(first) and "Verdict: inconclusive" in json.dumps(first)
    refreshed, expired = updates_of(slack_world, card)
    # 1.2.3 beside 1.2.2: shown healthy within minutes of canary traffic; the card says so, buttons intact
    assert _button_texts(blocks_of(refreshed)) == ["✅ Approve", "❌ Deny"]
    assert "Verdict: healthy" in json.dumps(blocks_of(refreshed))
    assert "override" not in json.dumps(blocks_of(expired))
