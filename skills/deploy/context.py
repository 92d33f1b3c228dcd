"""What a deploy needs from the world, and what it carries between steps."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypedDict

from memory.errors import UserError
from memory.outcome import Outcome
from memory.records import LockHeld
from memory.scratchpad import Scratchpad
from skills.deploy.liveness import Holder
from skills.events import Event, Verdict
from skills.resources import Resources
from tools.backend import Backend, target_for
from tools.config import EnvironmentConfig, RunbookConfig, Thresholds
from tools.models import ServiceTarget

log = logging.getLogger(__name__)

VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")

# How long the deploy lock outlives its last refresh (wall seconds); a running deploy's heartbeat
# (skills.deploy.heartbeat) refreshes it every 15 s.
LOCK_TTL_SECONDS = 90.0

# A terminal prompt offered by the CLI: called with a question and how long it may block
# (wall seconds); answers "approved", "denied", or None when nobody answered yet.
TerminalPrompt = Callable[[str, float], str | None]


def lock_key(service: str, environment: str) -> str:
    """The deploy lock of one service in one environment: one deploy at a time."""
    return f"{service}/{environment}"


class DeployInputError(UserError):
    """Bad input caught before anything ran; one sentence for the user."""


class LockLost(Exception):
    """The deploy lock was released or taken over while the deploy ran; one sentence for the user."""


@dataclass
class DeployRequest:
    service: str
    version: str
    environment: str
    requester: str
    requester_via: str | None = None  # how the requester was established (memory.identity.Via)
    auto_rollback: bool = False
    dry_run: bool = False
    kind: str = "deploy"  # "deploy" or "rollback"
    despite_alarms: bool = False  # a rollback only: alarms that fired before the deploy it undoes do not stop it
    deployment_id: str = ""
    # `--task-definition PATH`: the definition to deploy (register-task-definition's JSON) and where it came
    # from; None keeps the running revision and replaces only its image.
    task_definition: dict[str, Any] | None = None
    task_definition_file: str | None = None

    def __post_init__(self) -> None:
        if not VERSION_PATTERN.match(self.version):
            raise DeployInputError(
                f"'{self.version}' is not a valid version: use an image tag such as 1.2.3"
                " (letters, digits, '.', '_' and '-')."
            )
        if not self.deployment_id:
            self.deployment_id = "dep-" + uuid.uuid4().hex[:10]


@dataclass
class DeployContext:
    """One deploy's view of the injected world (the runtime's `Resources`), its request and its sink."""

    resources: Resources
    env: EnvironmentConfig
    target: ServiceTarget
    backend: Backend
    sink: Callable[[Event], None]
    request: DeployRequest
    terminal_prompt: TerminalPrompt | None = None
    heartbeat: Any = None  # the running deploy's Heartbeat (None: steps run on their own, in tests)
    runbook_hint: Any = None  # the deploy runbook lookup (skills.deploy.knowledge) until it is shown
    # Who else sees every event after the sink: the deploy's Slack thread (skills.deploy.slack_thread).
    # A subscriber never raises into the deploy and never blocks it.
    subscribers: list[Callable[[Event], None]] = field(default_factory=list)

    @classmethod
    def open(cls, resources: Resources, request: DeployRequest, sink: Callable[[Event], None],
             terminal_prompt: TerminalPrompt | None = None) -> DeployContext:
        """The deploy's context; raises ConfigError for an unknown service or environment."""
        config = resources.config
        target = target_for(config, request.service, request.environment)
        request.environment, env = config.environment(request.environment)
        ctx = cls(resources=resources, env=env, target=target, backend=resources.backend(request.environment),
                  sink=sink, request=request, terminal_prompt=terminal_prompt)
        from skills.deploy.slack_thread import thread_for

        thread = thread_for(resources, request.environment, env, request.kind)
        if thread is not None:
            ctx.subscribers.append(thread)
        return ctx

    @property
    def config(self) -> RunbookConfig:
        return self.resources.config

    @property
    def store(self) -> Scratchpad:
        return self.resources.store

    @property
    def holder(self) -> str:
        """Who holds the deploy lock, as shown to a second deploy that is refused."""
        return Holder.this_process(self.request.requester).label

    @property
    def owner(self) -> dict[str, Any]:
        """The lock's host, pid and boot: what tells a live deploy from a dead one (skills.deploy.liveness)."""
        me = Holder.this_process(self.request.requester)
        return {"host": me.host, "pid": me.pid, "boot_id": me.boot}

    @property
    def thresholds(self) -> Thresholds:
        return self.target.config.thresholds

    @property
    def lock_key(self) -> str:
        return lock_key(self.target.key, self.target.environment)

    def now(self) -> datetime:
        """The world's time (virtual in the sandbox): what events and metrics windows are stamped with."""
        return self.backend.clock.now()

    def wall_now(self) -> datetime:
        """People's time: approval requests, their expiry and the deploy lock run on it in every time scale."""
        return self.resources.wall.now()

    def keep_lock(self) -> None:
        """From a wait loop: stop if the lock was lost; the heartbeat keeps it alive (refreshed here
        when there is none)."""
        if self.heartbeat is not None:
            if self.heartbeat.lost:
                raise LockLost(self.heartbeat.lost)
            return
        try:
            self.store.refresh_lock(self.lock_key, self.request.deployment_id, self.wall_now(), LOCK_TTL_SECONDS)
        except KeyError:
            raise LockLost(f"The deploy lock of {self.lock_key} was released while the deploy ran.") from None
        except LockHeld as held:
            raise LockLost(f"The deploy lock of {self.lock_key} was taken over by {held.lock.deployment_id}"
                           " while the deploy ran.") from None

    def emit(self, event: Event) -> None:
        """Stamp, log to the scratchpad (the audit trail), then hand to the renderer."""
        event.deployment_id = self.request.deployment_id
        event.at = event.at or self.now()
        self.store.append_event(self.request.deployment_id, event.kind, event.at, event.model_dump(mode="json"))
        self.notify(event)

    def notify(self, event: Event) -> None:
        """Hand an event to the renderer, then to every subscriber."""
        self.sink(event)
        for subscriber in self.subscribers:
            try:
                subscriber(event)
            except Exception:  # noqa: BLE001 - a bystander's failure is no reason to stop a deploy
                log.warning("a subscriber could not take a %s event", event.kind, exc_info=True)


class DeployState(TypedDict, total=False):
    """The checkpointed state of one deploy: plain JSON values only."""

    deployment_id: str
    started_at: str
    from_version: str | None
    from_revision: int | None
    base_revision: int | None  # a rollback: the revision its version last ran as, copied instead of the running one
    to_revision: int | None
    image: dict[str, Any]
    desired: int
    lock_acquired: bool
    canary_started: bool
    request: dict[str, Any]  # the DeployRequest as asked, so that a later `runbook resume` can rebuild it
    approval_id: str | None
    approver: str | None
    failure: str | None
    outcome: Outcome | None
    metrics_before: dict[str, float | None]
    metrics_after: dict[str, float | None]
    canary_summary: list[str]
    canary_plan: dict[str, Any]  # how the canary is judged (evidence.CanaryPlan): rebuilt from it on resume
    canary_verdict: Verdict  # "healthy" or "inconclusive" when the canary step ended
    canary_more: list[dict[str, Any]]  # events.MoreEvidence: how much more traffic each verdict needs
    approval_override: bool  # approved while the canary was inconclusive
    changes: list[str]
    observations: list[str]
    observations_title: str  # e.g. "Improvements Observed:" (set where the observations' step knows)
    rolled_back: bool
    next_steps: list[str]
    rollout_finished_at: str
