"""The deploy's Slack thread on its own: it never blocks a deploy, and posts nothing it was not asked to."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from memory.outcome import Outcome
from skills.deploy import slack_thread
from skills.deploy.slack_thread import SlackThread
from skills.events import DeployFinished, DeployStarted, RolloutProgress
from tools.config import SlackThreadConfig
from tools.slack_api import PostedMessage, SlackApiError


class HangingSlack:
    """A Slack that takes the call and never answers (until released)."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.calls: list[str] = []

    def post_message(self, channel: str, text: str, blocks: list[dict[str, Any]]) -> PostedMessage:
        self.calls.append(text)
        self.released.wait(30)
        raise SlackApiError("Slack chat_postMessage could not reach the Slack API (TimeoutError).")

    reply_in_thread = update_message = post_message  # type: ignore[assignment]


class RecordingSlack:
    def __init__(self) -> None:
        self.posted: list[tuple[str, str | None]] = []  # (text, thread ts)
        self.updated: list[tuple[str, str]] = []  # (ts, text)

    def post_message(self, channel: str, text: str, blocks: list[dict[str, Any]]) -> PostedMessage:
        self.posted.append((text, None))
        return PostedMessage(channel="C1", ts=f"{len(self.posted)}.0")

    def reply_in_thread(self, channel: str, thread_ts: str, text: str) -> PostedMessage:
        self.posted.append((text, thread_ts))
        return PostedMessage(channel="C1", ts=f"{len(self.posted)}.0")

    def update_message(self, channel: str, ts: str, text: str, blocks: Any = None) -> PostedMessage:
        self.updated.append((ts, text))
        return PostedMessage(channel="C1", ts=ts)


def started(dry_run: bool = False) -> DeployStarted:
    return DeployStarted(deployment_id="dep-1", service="checkout-api", environment="staging", version="1.2.3",
                         requester="dev", total_steps=6, dry_run=dry_run)


def finished() -> DeployFinished:
    return DeployFinished(deployment_id="dep-1", outcome=Outcome.SUCCEEDED, exit_code=0, headline="DEPLOYMENT SUCCESSFUL",
                          service="checkout-api", environment="staging", from_version="1.2.2", to_version="1.2.3")


def test_a_hanging_slack_holds_the_deploy_up_at_most_the_flush_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slack_thread, "FLUSH_SECONDS", 0.3)
    slack = HangingSlack()
    poster = SlackThread(slack, "#deploys", SlackThreadConfig(), card_expected=False)  # type: ignore[arg-type]
    begun = time.monotonic()
    poster(started())
    for new in range(10):
        poster(RolloutProgress(desired=10, new_running=new, old_running=10 - new, elapsed_seconds=new))
    assert time.monotonic() - begun < 0.2  # the deploy's events never wait for Slack
    poster(finished())
    assert time.monotonic() - begun < 2.0  # the end waits for the last posts, but only so long
    slack.released.set()


def test_rollout_progress_is_posted_once_then_edited() -> None:
    slack = RecordingSlack()
    poster = SlackThread(slack, "#deploys", SlackThreadConfig(), card_expected=False)  # type: ignore[arg-type]
    poster(started())
    for new in range(5):
        poster(RolloutProgress(desired=4, new_running=new, old_running=4 - new, elapsed_seconds=new * 10,
                               state="COMPLETED" if new == 4 else "IN_PROGRESS"))
    poster(finished())
    rollout = [(text, ts) for text, ts in slack.posted if "Rollout" in text]
    assert len(rollout) == 1 and rollout[0][1] == "1.0"  # in the thread of the "deploy started" message
    assert rollout[0][0].startswith("🔄 *Rollout in progress:* 0/4")
    # Progress queued faster than Slack answers is coalesced: only the newest edit of a batch is sent.
    edits = [text for ts, text in slack.updated if ts == "2.0"]
    assert 1 <= len(edits) <= 4 and edits[-1].startswith("✅ *Rollout complete:* 4/4 tasks on 1.2.3")


def test_a_dry_run_posts_nothing() -> None:
    slack = RecordingSlack()
    poster = SlackThread(slack, "#deploys", SlackThreadConfig(), card_expected=False)  # type: ignore[arg-type]
    poster(started(dry_run=True))
    poster(finished())
    assert slack.posted == [] and slack.updated == []


def test_events_left_out_are_not_posted() -> None:
    slack = RecordingSlack()
    poster = SlackThread(slack, "#deploys", SlackThreadConfig(events=["outcome"]), card_expected=False)  # type: ignore[arg-type]
    poster(started())
    poster(RolloutProgress(desired=4, new_running=4, old_running=0, elapsed_seconds=30, state="COMPLETED"))
    poster(finished())
    assert [text.split("*")[1] for text, _ in slack.posted] == ["Deploy started:", "DEPLOYMENT SUCCESSFUL"]
    assert slack.updated and "DEPLOYMENT SUCCESSFUL" in slack.updated[-1][1]  # the root says how it ended


class StoreWithCard:
    """The scratchpad as a resumed deploy finds it: the approval card was posted before the process died."""

    def approval_for_deployment(self, deployment_id: str) -> Any:
        from types import SimpleNamespace

        return SimpleNamespace(slack_channel="CAPPROVALS", slack_ts="100.0")


def test_a_resumed_deploy_goes_on_under_its_card() -> None:
    slack = RecordingSlack()
    poster = SlackThread(slack, "#runbook-approvals", SlackThreadConfig(), card_expected=True,  # type: ignore[arg-type]
                         store=StoreWithCard())  # type: ignore[arg-type]
    poster(started())
    poster(RolloutProgress(desired=4, new_running=4, old_running=0, elapsed_seconds=30, state="COMPLETED"))
    poster(finished())
    assert [ts for _, ts in slack.posted] == ["100.0", "100.0"]  # no second root: both under the card
    assert slack.posted[-1][0].startswith("✅ *DEPLOYMENT SUCCESSFUL*")


def test_a_rollback_says_so_at_the_root() -> None:
    slack = RecordingSlack()
    poster = SlackThread(slack, "#deploys", SlackThreadConfig(), card_expected=False, kind="rollback")  # type: ignore[arg-type]
    poster(started())
    poster(finished())
    assert slack.posted[0][0].startswith("🚀 *Rollback started:* checkout-api 1.2.3 to staging")


def test_only_the_outcome_of_a_deploy_that_ended_before_its_card() -> None:
    slack = RecordingSlack()
    poster = SlackThread(slack, "#runbook-approvals", SlackThreadConfig(events=["outcome"]),  # type: ignore[arg-type]
                         card_expected=True)
    poster(started())
    poster(finished())
    root, outcome = slack.posted
    assert root[0].startswith("🚀 *Deploy started:*") and root[1] is None
    assert outcome == (outcome[0], "1.0") and outcome[0].startswith("✅ *DEPLOYMENT SUCCESSFUL*")
    assert "DEPLOYMENT SUCCESSFUL" in slack.updated[-1][1]
