"""A deploy asked for in a Slack thread: the bot answers at once with the deployment and how to approve
it, the deploy runs on the bot's own pool (never on Bolt's listener threads), and its outcome is posted
in the thread when a colleague's click lets it finish."""

from __future__ import annotations

from tests.agent.slack.conftest import SlackWorld, wait_until
from tests.agent.slack.test_slack_chat import send_event


def test_a_chat_deploy_answers_at_once_and_reports_its_outcome_in_the_thread(slack_world: SlackWorld) -> None:
    event = {"type": "app_mention", "user": "U0DEV00001", "channel": "C0OPS00001", "ts": "1700000000.000200",
             "text": "<@U0RUNBOOK01> deploy checkout-api 1.2.3 to production"}
    assert send_event(slack_world, "EvDeploy1", event) == 200

    def replies() -> list[str]:
        return [m.text for m in slack_world.standin.messages if m.thread_ts == "1700000000.000200"]

    assert wait_until(lambda: bool(replies()))
    first = replies()[0]
    assert "started" in first and "dep-" in first and "Approve button of the card in #runbook-approvals" in first
    card = slack_world.standin.wait_for_card("#runbook-approvals", timeout=120)
    assert card is not None, "the deploy posted no approval card"
    assert slack_world.click(card, "alice")[0] == 200
    assert wait_until(lambda: len(replies()) >= 2)
    assert "succeeded" in replies()[1] and "To roll back: runbook deploy checkout-api --version 1.2.2" in replies()[1]
