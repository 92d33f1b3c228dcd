"""A deploy tells its Slack thread what happened: under the approval card, or under a "deploy started"
message where no approval is needed; the rollout is one message edited in place; which events are
posted is set per environment; and Slack failing changes nothing about the deploy."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.agent.cli_support import deciding, fleet_snapshot, run_cli
from tests.agent.slack.conftest import SlackWorld, slack_config
from tools.slack_standin import StandinCall, StandinMessage

APPROVALS = "#runbook-approvals"


def deploy(version: str = "1.2.3", environment: str = "production", *extra: str):  # type: ignore[no-untyped-def]
    return run_cli("deploy", "checkout-api", "--version", version, "--environment", environment, *extra)


def roots(world: SlackWorld) -> list[StandinMessage]:
    return [m for m in world.standin.messages if m.channel == world.standin.channel_id(APPROVALS)
            and m.thread_ts is None]


def thread(world: SlackWorld, root: StandinMessage) -> list[StandinMessage]:
    return [m for m in world.standin.messages if m.thread_ts == root.ts]


def texts(messages: list[StandinMessage]) -> list[str]:
    return [m.text for m in messages]


def the_thread(world: SlackWorld) -> tuple[StandinMessage, list[str]]:
    (root,) = roots(world)
    return root, texts(thread(world, root))


def with_staging(events: list[str] | None = None, **thread: Any) -> None:
    """Staging needs no approval; it is named under slack.environments, so its deploys post a thread."""
    data = slack_config()
    data["environments"]["staging"]["approval"] = {"required": False}
    settings: dict[str, Any] = dict(thread)
    if events is not None:
        settings["events"] = events
    data["slack"]["environments"]["staging"] = {"thread": settings}
    Path("runbook.yaml").write_text(yaml.safe_dump(data))


def test_a_successful_deploy_tells_the_thread_under_its_card(slack_world: SlackWorld) -> None:
    with deciding("approve", "alice"):
        result = deploy()
    assert result.exit_code == 0, result.output
    card, posts = the_thread(slack_world)
    assert any(b.get("type") == "header" for b in card.blocks)  # the thread hangs off the approval card
    canary, rollout, validation, outcome = posts
    assert canary.startswith("⚠️ *Canary inconclusive* after 60s") and "canary requests judged" in canary
    assert "• Error Rate:" in canary and "threshold" in canary  # the figures the verdict rests on
    assert rollout.startswith("✅ *Rollout complete:* 10/10 tasks on 1.2.3, 0 left on the old revision")
    assert validation.startswith("✅ *Post-deployment validation passed*") and "• Error Rate:" in validation
    assert outcome.startswith("✅ *DEPLOYMENT SUCCESSFUL* · checkout-api 1.2.2 → 1.2.3 in production")


def test_rollout_progress_is_one_message_edited_in_place(slack_world: SlackWorld) -> None:
    with deciding("approve", "alice"):
        assert deploy().exit_code == 0
    card, _ = the_thread(slack_world)
    rollout = [m for m in thread(slack_world, card) if "Rollout" in m.text]
    assert len(rollout) == 1
    assert rollout[0].updates >= 1  # posted once as it began, then edited with chat.update
    updates = [c for c in slack_world.standin.calls
               if c.method == "chat.update" and c.params.get("ts") == rollout[0].ts]
    assert len(updates) == rollout[0].updates
    first = next(c for c in slack_world.standin.calls if c.method == "chat.postMessage"
                 and c.params.get("thread_ts") == card.ts and "Rollout" in str(c.params.get("text")))
    assert str(first.params["text"]).startswith("🔄 *Rollout in progress:*")  # then edited as tasks moved


def test_a_failed_canary_is_told_in_a_thread_of_its_own(slack_world: SlackWorld) -> None:
    result = deploy("1.2.5")
    assert result.exit_code == 4, result.output
    root, posts = the_thread(slack_world)  # no card was ever posted: a "deploy started" message instead
    assert root.text.startswith("🚀 *Deploy started:* checkout-api 1.2.5 to production, requested by dev")
    assert not any(b.get("type") == "actions" for b in root.blocks)
    canary, outcome = posts
    assert canary.startswith("❌ *Canary unhealthy*") and "canary requests judged" in canary
    assert "(threshold " in canary and "✗" in canary  # the figure that failed (which one first varies by run)
    assert outcome.startswith("❌ *CANARY FAILED")
    assert "CANARY FAILED" in root.text and root.updates == 1  # the root says how it ended


def test_a_failed_validation_with_auto_rollback_tells_the_rollback(slack_world: SlackWorld) -> None:
    with deciding("approve"):
        result = deploy("1.2.4", "production", "--auto-rollback")
    assert result.exit_code == 6, result.output
    _, posts = the_thread(slack_world)
    assert [p.split("*")[1] for p in posts] == [
        "Canary inconclusive", "Rollout complete:", "Post-deployment validation failed", "Rolling back",
        "Rollback complete:", "Rolled back", "DEPLOYMENT VALIDATION FAILED — ROLLED BACK"]
    assert "• Error Rate: " in posts[2] and "before" in posts[2] and "✗" in posts[2]  # the figures that failed
    assert posts[3].startswith("↩️ *Rolling back* 1.2.4 → 1.2.2: Error rate")
    assert posts[4].startswith("✅ *Rollback complete:* 10/10 tasks on 1.2.2")
    assert posts[5] == "✅ *Rolled back* to 1.2.2"
    assert posts[6].startswith("❌ *DEPLOYMENT VALIDATION FAILED — ROLLED BACK* · checkout-api 1.2.2 → 1.2.4")
    assert "• Version: 1.2.4 → 1.2.2 (rolled back)" in posts[6]
    assert fleet_snapshot()["version"] == "1.2.2"


def test_an_expired_request_tells_the_thread(slack_world: SlackWorld) -> None:
    data = slack_config()
    data["environments"]["production"]["approval"]["expires_after_seconds"] = 10
    Path("runbook.yaml").write_text(yaml.safe_dump(data))
    result = deploy()
    assert result.exit_code == 5, result.output
    _, posts = the_thread(slack_world)
    assert posts[0].startswith("⚠️ *Canary inconclusive*")
    assert all(p.startswith("🔁 *Canary verdict changed while waiting:*") for p in posts[1:-1])
    assert posts[-1].startswith("❌ *APPROVAL EXPIRED")
    assert not any("Rollout" in p for p in posts)


def test_no_approval_needed_posts_a_deploy_started_message(slack_world: SlackWorld) -> None:
    with_staging()
    result = deploy("1.2.3", "staging")
    assert result.exit_code == 0, result.output
    root, posts = the_thread(slack_world)
    assert root.text.startswith("🚀 *Deploy started:* checkout-api 1.2.3 to staging")
    assert "DEPLOYMENT SUCCESSFUL" in root.text
    assert [p.split("*")[1] for p in posts][1:] == ["Rollout complete:", "Post-deployment validation passed",
                                                   "DEPLOYMENT SUCCESSFUL"]


def test_the_environment_chooses_which_events_are_posted(slack_world: SlackWorld) -> None:
    with_staging(["outcome"])
    assert deploy("1.2.3", "staging").exit_code == 0
    _, posts = the_thread(slack_world)
    assert len(posts) == 1 and posts[0].startswith("✅ *DEPLOYMENT SUCCESSFUL*")


def test_a_disabled_thread_posts_nothing(slack_world: SlackWorld) -> None:
    with_staging(enabled=False)
    assert deploy("1.2.3", "staging").exit_code == 0
    assert slack_world.standin.messages == []


def test_an_environment_without_slack_posts_nothing(slack_world: SlackWorld) -> None:
    data = slack_config()
    data["environments"]["staging"]["approval"] = {"required": False}
    Path("runbook.yaml").write_text(yaml.safe_dump(data))
    assert deploy("1.2.3", "staging").exit_code == 0
    assert slack_world.standin.messages == []


def test_slack_errors_in_the_thread_leave_the_deploy_unchanged(
        slack_world: SlackWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    standin = slack_world.standin
    answer = standin.handle

    def failing(method: str, params: dict[str, Any], authorised: bool) -> dict[str, Any]:
        if method == "chat.update" or params.get("thread_ts"):
            standin.calls.append(StandinCall(method, params))
            return {"ok": False, "error": "ratelimited"}
        return answer(method, params, authorised)

    monkeypatch.setattr(standin, "handle", failing)
    with deciding("approve", "alice"):
        result = deploy()
    assert result.exit_code == 0, result.output
    assert "DEPLOYMENT SUCCESSFUL" in result.output
    assert fleet_snapshot()["version"] == "1.2.3"
    (card,) = roots(slack_world)
    assert thread(slack_world, card) == []


def test_an_unreachable_slack_leaves_the_deploy_unchanged(
        slack_world: SlackWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("SLACK_API_URL", f"http://127.0.0.1:{port}/api/")
    with_staging()
    result = deploy("1.2.3", "staging")
    assert result.exit_code == 0, result.output
    assert "DEPLOYMENT SUCCESSFUL" in result.output
    assert fleet_snapshot(environment="staging")["version"] == "1.2.3"
    assert slack_world.standin.messages == []
