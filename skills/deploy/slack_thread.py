"""A deploy's Slack thread: one subscriber to its event stream, posting off the deploy's critical path.

Under the approval card (or, where no card is posted, under a "deploy started" message) the thread
says what happened: the canary's verdict with its figures, the rollout's progress (one message,
edited in place with chat.update), the post-deploy validation, any rollback, and the outcome.
Which of these are posted is set per environment (`slack.environments.<env>.thread.events`).

The deploy never waits for Slack: `SlackThread.__call__` only turns events into messages and queues
them; a daemon worker posts them. The deploy's end waits at most `FLUSH_SECONDS` for the queue to
drain, and a Slack error is logged, never raised: a thread that could not be posted changes nothing
about the deploy.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from skills.events import (
    ApprovalRequested,
    CanaryJudged,
    CanaryVerdictChanged,
    DeployFinished,
    DeployStarted,
    Event,
    MetricReading,
    MetricsObserved,
    RollbackFinished,
    RollbackStarted,
    RolloutProgress,
    StepFinished,
    span_of,
)
from tools import slack_api
from tools.config import SlackThreadConfig, ThreadEvent

if TYPE_CHECKING:
    from memory.scratchpad import Scratchpad
    from skills.resources import Resources
    from tools.config import EnvironmentConfig
    from tools.slack_api import SlackClient

log = logging.getLogger(__name__)

FLUSH_SECONDS = 5.0  # how long the deploy's end waits for the thread's last messages (wall seconds)
ROOT = "root"  # the key of the thread's first message, when runbook posts one
PROGRESS_KEYS = ("rollout", "rollback")  # messages edited in place as a rollout moves: only the newest counts
OUTCOME_ICONS = {"succeeded": "✅", "dry_run": "📝", "rolled_back": "↩️"}


@dataclass
class Post:
    """One message to post in the thread (`key` None), or to post once and then edit in place (`key`)."""

    text: str
    key: str | None = None


@dataclass
class Root:
    """The approval card: the thread goes under it."""

    channel: str  # the channel ID Slack answered with
    ts: str


@dataclass
class _Thread:
    """The worker's side: where the thread is and which edited-in-place messages it has posted."""

    client: SlackClient
    channel: str
    ts: str | None = None
    edited: dict[str, str] = field(default_factory=dict)  # key -> ts


def _number(value: float) -> str:
    """As a person reads a figure: 2432.81 -> "2,433", 121.6 -> "122", 4.8165 -> "4.82", 0.8991 -> "0.9"."""
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) >= 1 else f"{value:.2g}"


def _figure(reading: MetricReading) -> str:
    """"Error Rate: 0.02% (threshold 1%, stable 0.03%) ✓"."""
    def num(value: float | None) -> str:
        return (reading.verdict or "no data") if value is None else f"{_number(value)}{reading.unit}"

    extra = []
    if reading.threshold is not None:
        extra.append(f"threshold {num(reading.threshold)}")
    if reading.baseline is not None:
        extra.append(f"before {num(reading.baseline)}" if reading.verdict in ("improved", "degraded", "stable")
                     else f"stable {num(reading.baseline)}")
    mark = "" if reading.ok is None else " ✓" if reading.ok else " ✗"
    return f"• {reading.name}: {num(reading.value)}" + (f" ({', '.join(extra)})" if extra else "") + mark


def _section(text: str) -> list[dict[str, object]]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


def _figures(readings: list[MetricReading]) -> list[str]:
    return [_figure(r) for r in readings]


class SlackThread:
    """The subscriber: call it with every event the deploy emits."""

    def __init__(self, client: SlackClient, channel: str, settings: SlackThreadConfig, *, card_expected: bool,
                 store: Scratchpad | None = None, kind: str = "deploy") -> None:
        self.settings, self.card_expected, self.store, self.kind = settings, card_expected, store, kind
        self._thread = _Thread(client=client, channel=channel)
        self._queue: queue.Queue[Post | Root | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._rooted = False  # the thread has (or is getting) its first message
        self._held: list[Post] = []  # posts waiting for the approval card
        self._started: DeployStarted | None = None
        self._canary: list[MetricReading] = []
        self._validation: list[MetricReading] = []
        self._judged = False
        self._rolling_back = False
        self._rollback_to = "the previous version"
        self._finished = False
        self._root_text: str | None = None  # the "deploy started" message, when runbook posted one

    # -- the deploy's side (never raises, never blocks but for the final flush) ---------------------

    def __call__(self, event: Event) -> None:
        if self._finished:
            return
        try:
            self._see(event)
        except Exception:  # noqa: BLE001 - the thread is a bystander: the deploy goes on
            log.warning("the Slack thread could not take a %s event", event.kind, exc_info=True)
        if isinstance(event, DeployFinished):
            self._finished = True
            self.flush(FLUSH_SECONDS)

    def _see(self, event: Event) -> None:
        if isinstance(event, DeployStarted):
            self._started = event
            if event.dry_run:  # a dry run changes nothing: nothing to tell the channel
                self._finished = True
                return
            if self.card_expected and self.store is not None and event.deployment_id:
                record = self.store.approval_for_deployment(event.deployment_id)  # a resumed deploy's card
                if record is not None and record.slack_ts and record.slack_channel:
                    self._root_at(Root(record.slack_channel, record.slack_ts))
            if not self.card_expected and not event.dry_run:
                self._post_root()
            return
        if isinstance(event, ApprovalRequested):
            record = self.store.get_approval(event.request_id) if self.store is not None else None
            if record is not None and record.slack_ts and record.slack_channel:
                self._root_at(Root(record.slack_channel, record.slack_ts))
            else:  # the card could not be posted (the terminal decides): the thread gets a message of its own
                self._post_root()
            return
        if isinstance(event, DeployFinished):
            self.finish_without_card()  # it ended before a card (a failed canary): the root says how
        for post in self._posts_for(event):
            self._post(post)

    def _posts_for(self, event: Event) -> list[Post]:
        posts: list[tuple[ThreadEvent, Post]] = []
        if isinstance(event, MetricsObserved) and event.final:
            if event.phase in ("canary", "approval_wait"):
                self._canary = event.readings
            elif event.phase == "validation":
                self._validation = event.readings
        elif isinstance(event, CanaryJudged):
            self._judged = True
            icon = {"healthy": "✅", "unhealthy": "❌"}.get(event.verdict, "⚠️")
            requests = f", {event.canary_requests:,} canary requests judged" if event.canary_requests else ""
            lines = [f"{icon} *Canary {event.verdict}* after {span_of(event.observed_seconds)}{requests}",
                     *_figures(self._canary), *(f"• {reason}" for reason in event.reasons)]
            posts.append(("canary", Post("\n".join(lines))))
        elif isinstance(event, CanaryVerdictChanged):
            lines = [f"🔁 *Canary verdict changed while waiting:* {event.previous} → {event.verdict}"
                     f" ({span_of(event.observed_seconds)} observed)", *(f"• {line}" for line in event.summary)]
            posts.append(("canary", Post("\n".join(lines))))
        elif isinstance(event, StepFinished) and event.number == 3 and not event.ok and not self._judged:
            posts.append(("canary", Post(f"❌ *Canary failed:* {event.message}")))
        elif isinstance(event, RolloutProgress):
            what: ThreadEvent = "rollback" if self._rolling_back else "rollout"
            icon = {"COMPLETED": "✅", "FAILED": "❌"}.get(event.state, "🔄")
            state = {"COMPLETED": "complete", "FAILED": "failed"}.get(event.state, "in progress")
            title, version = ("Rollback", self._rollback_to) if self._rolling_back else (
                "Rollout", self._started.version if self._started else "the new version")
            text = (f"{icon} *{title} {state}:* {event.new_running}/{event.desired} tasks on {version},"
                    f" {event.old_running} left on the old revision ({span_of(event.elapsed_seconds)})")
            posts.append((what, Post(text, key=what)))
        elif isinstance(event, StepFinished) and event.number == 6:
            icon = "✅" if event.ok else "❌"
            posts.append(("validation", Post("\n".join([f"{icon} *{event.message}*", *_figures(self._validation)]))))
        elif isinstance(event, RollbackStarted):
            self._rolling_back, self._rollback_to = True, event.to_version
            posts.append(("rollback", Post(f"↩️ *Rolling back* {event.from_version} → {event.to_version}:"
                                           f" {event.reason}")))
        elif isinstance(event, RollbackFinished):
            text = (f"✅ *Rolled back* to {event.to_version}" if event.ok
                    else f"❌ *Rollback did not complete:* {event.message or 'see the deploy log'}")
            posts.append(("rollback", Post(text)))
        elif isinstance(event, DeployFinished):
            icon = OUTCOME_ICONS.get(str(event.outcome), "✅" if event.outcome.ok else "❌")
            lines = [f"{icon} *{event.headline}* · {event.service} {event.from_version or '?'} → {event.to_version}"
                     f" in {event.environment}" + (f" ({span_of(event.duration_seconds)})" if event.duration_seconds else ""),
                     *(f"• {line}" for line in event.observations)]
            if event.rollback_command:
                lines.append(f"Rollback: `{event.rollback_command}`")
            posts.append(("outcome", Post("\n".join(lines))))
            if self._root_text is not None and self.settings.posts("outcome"):  # the root says how it ended
                posts.append(("outcome", Post(f"{self._root_text}\n{lines[0]}", key=ROOT)))
        return [post for what, post in posts if self.settings.posts(what)]

    def _post(self, post: Post) -> None:
        if not self._rooted:
            self._held.append(post)
            if not self.card_expected:  # dry run: no root was posted, and nothing else is
                self._held.clear()
            return
        self._enqueue(post)

    def _root_at(self, root: Root) -> None:
        if self._rooted:
            return
        self._rooted = True
        self._enqueue(root)
        for post in self._held:
            self._enqueue(post)
        self._held.clear()

    def _post_root(self) -> None:
        started = self._started
        if self._rooted or started is None:
            return
        self._rooted = True
        kind = "Rollback" if self.kind == "rollback" else "Deploy"
        self._root_text = (f"🚀 *{kind} started:* {started.service} {started.version} to {started.environment},"
                           f" requested by {started.requester} · deployment {started.deployment_id}")
        self._enqueue(Post(self._root_text, key=ROOT))
        for post in self._held:
            self._enqueue(post)
        self._held.clear()

    def finish_without_card(self) -> None:
        """The deploy ended (or went on) without a card: the held posts go under a message of their own."""
        if self.card_expected and not self._rooted:
            self._post_root()

    def _enqueue(self, item: Post | Root) -> None:
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name="slack-thread", daemon=True)
            self._worker.start()
        self._queue.put(item)

    def flush(self, timeout: float) -> bool:
        """Wait (at most `timeout` wall seconds) until everything queued is posted; True if it was."""
        self.finish_without_card()
        if self._worker is None:
            return True
        self._queue.put(None)
        self._worker.join(timeout)
        if self._worker.is_alive():
            log.warning("the Slack thread did not finish posting within %gs; the deploy goes on", timeout)
            return False
        return True

    # -- the worker's side ----------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            items = [self._queue.get()]
            while True:  # what else is queued: a rollout's older progress is superseded by its newer one
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            done = items[-1] is None
            for index, item in enumerate(items):
                if item is None:
                    continue
                if isinstance(item, Post) and item.key in PROGRESS_KEYS and item.key in self._thread.edited and any(
                        isinstance(later, Post) and later.key == item.key for later in items[index + 1:]):
                    continue  # an edit that a newer one in the same batch supersedes (the first is always posted)
                self._send(item)
            if done:
                return

    def _send(self, item: Post | Root) -> None:
        thread = self._thread
        if isinstance(item, Root):
            thread.channel, thread.ts = item.channel, item.ts
            return
        try:
            if item.key == ROOT and ROOT not in thread.edited:
                posted = thread.client.post_message(thread.channel, item.text, _section(item.text))
                thread.channel, thread.ts = posted.channel, posted.ts
                thread.edited[ROOT] = posted.ts
            elif thread.ts is None:
                return  # the root could not be posted: nothing to thread under
            elif item.key and item.key in thread.edited:
                thread.client.update_message(thread.channel, thread.edited[item.key], item.text, _section(item.text))
            else:
                posted = thread.client.reply_in_thread(thread.channel, thread.ts, item.text)
                thread.channel = posted.channel
                if item.key:
                    thread.edited[item.key] = posted.ts
        except (slack_api.SlackApiError, OSError, ValueError) as exc:
            log.warning("could not post to the deploy's Slack thread: %s", exc)
        except Exception:  # noqa: BLE001 - whatever Slack does, the deploy goes on
            log.warning("could not post to the deploy's Slack thread", exc_info=True)


def thread_for(resources: Resources, environment: str, env: EnvironmentConfig,
               kind: str = "deploy") -> SlackThread | None:
    """The deploy's thread poster, or None where the environment posts no thread or Slack is not set up."""
    slack = resources.config.slack
    if not slack.threads_in(environment, env.approval) or not slack.for_environment(environment).thread.events:
        return None
    client = resources.slack()
    if client is None:
        return None
    return SlackThread(client, slack.channel_for(environment), slack.for_environment(environment).thread,
                       card_expected=env.approval.required and env.approval.slack, store=resources.store, kind=kind)
