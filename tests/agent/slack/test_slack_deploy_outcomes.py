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
    (update,) = updates_of(slack_world, card)
    blocks = blocks_of(update)
    assert not has_buttons(blocks)
    outcome = blocks[-1]["text"]["text"]
    assert outcome.startswith("⌛ *Expired*") and "no decision in time" in outcome
    assert card.blocks == blocks and card.updates == 1
    assert fleet_snapshot()["canary"] == []
