"""A production deploy in its own process waits for Slack; a signed click on its card releases it."""

from __future__ import annotations

import json
import os
import subprocess

from tests.agent.cli_support import RUNBOOK, fleet_snapshot
from tests.agent.slack.conftest import SlackWorld
from tools import slack_cards


def start_deploy(world: SlackWorld, version: str = "1.2.3") -> subprocess.Popen[str]:
    env = os.environ | {"RUNBOOK_USER": "dev", "SLACK_BOT_TOKEN": world.standin.token,
                        "SLACK_API_URL": world.standin.base_url}
    return subprocess.Popen(RUNBOOK + ["deploy", "checkout-api", "--version", version, "--environment", "production"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_click_in_slack_releases_the_waiting_deploy(slack_world: SlackWorld) -> None:
    deploy = start_deploy(slack_world)
    try:
        card = slack_world.standin.wait_for_card("#runbook-approvals", timeout=60)
        assert card is not None, "the deploy posted no approval card"
        assert slack_world.click(card, "alice")[0] == 200
        output, _ = deploy.communicate(timeout=60)
    finally:
        if deploy.poll() is None:
            deploy.kill()
    assert deploy.returncode == 0, output
    assert output.index("Sent to Slack #runbook-approvals...") < output.index("✓ Approved by @alice at")
    assert "DEPLOYMENT SUCCESSFUL" in output
    assert fleet_snapshot()["version"] == "1.2.3"
    assert "Approved* by <@U0ALICE001>" in json.dumps(card.blocks, ensure_ascii=False)
    assert not any(b["type"] == "actions" for b in card.blocks)


def test_a_terminal_decision_takes_the_buttons_off_the_card(slack_world: SlackWorld) -> None:
    deploy = start_deploy(slack_world)
    try:
        card = slack_world.standin.wait_for_card("#runbook-approvals", timeout=60)
        assert card is not None
        denier = subprocess.run(RUNBOOK + ["deny", "--service", "checkout-api", "--environment", "production",
                                           "--reason", "freeze"], env=os.environ | {"RUNBOOK_USER": "carol"},
                                capture_output=True, text=True, timeout=60)
        assert denier.returncode == 0, denier.stderr
        output, _ = deploy.communicate(timeout=60)
    finally:
        if deploy.poll() is None:
            deploy.kill()
    assert deploy.returncode == 5, output
    text = json.dumps(card.blocks, ensure_ascii=False)
    assert "Denied* by @carol" in text and "freeze" in text and card.updates == 1
    assert slack_cards.ACTIONS_BLOCK not in text
