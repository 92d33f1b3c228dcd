"""`SandboxFleet`: the simulated fleet every sandbox protocol object shares.

It owns the state file and the clock. Rolling updates are planned as timed steps when they start
and applied lazily ("settled") up to the clock's now whenever the state is read or changed; the
result is a pure function of the stored state and the time, so every process agrees on it.

Sandbox-only helpers for tests and the demo live here too: `set_alarm`, `set_secret_readable`,
`push_image`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from tools.backend import NotFound
from tools.clock import ScaledClock
from tools.models import Image, ServiceTarget, TaskDefinition
from tools.sandbox.seed import digest, short_id
from tools.sandbox.state import (
    AlarmRecord,
    AlarmState,
    ClusterState,
    FleetState,
    FleetStorage,
    RolloutRecord,
    RolloutStep,
    ServiceState,
    TaskRecord,
    TimelineEntry,
)
from tools.sandbox.traffic import TrafficSource

ROLLOUT_BATCHES = 4
ROLLOUT_STEP_SECONDS = 68  # four batches: a full rolling update takes 272 s (4m32s) of virtual time


class SandboxFleet:
    def __init__(self, store: FleetStorage, clock: ScaledClock) -> None:
        self.store = store
        self.clock = clock

    # -- reading -----------------------------------------------------------------------------

    def service(self, target: ServiceTarget, now: datetime | None = None) -> tuple[FleetState, ServiceState]:
        """The service as it is now (rollout steps up to now applied to a shared, unsaved copy)."""
        state = self.store.read()
        service = find_service(state, target)
        settle(service, now or self.clock.now())
        return state, service

    def traffic(self, target: ServiceTarget) -> TrafficSource:
        now = self.clock.now()
        state, service = self.service(target, now)
        return TrafficSource(
            seed=state.seed,
            cluster=service.cluster,
            service=service.name,
            kind=service.kind,
            requests_per_minute=service.requests_per_minute,
            timeline=service.timeline,
            now=now,
        )

    # -- changing ----------------------------------------------------------------------------

    @contextmanager
    def change(self) -> Iterator[FleetState]:
        """A fresh copy of the whole fleet, saved (with the virtual time) when the block succeeds."""
        with self.store.transaction() as state:
            yield state
            state.virtual_now = max(state.virtual_now, self.clock.now())

    @contextmanager
    def change_service(self, target: ServiceTarget) -> Iterator[tuple[FleetState, ServiceState, datetime]]:
        with self.change() as state:
            service = find_service(state, target)
            now = self.clock.now()
            settle(service, now)
            yield state, service, now

    def save_time(self) -> None:
        """Persist the clock's virtual now, so the next command starts from it."""
        with self.change():
            pass

    # -- sandbox-only helpers (tests, demo) ----------------------------------------------------

    def set_alarm(
        self,
        cluster: str,
        service: str,
        name: str,
        state: AlarmState | None,
        reason: str = "",
        description: str = "",
    ) -> None:
        """Force an alarm into `state` (creating it if needed); `state=None` hands it back to its metric."""
        with self.change() as fleet:
            record = find_service_named(fleet, cluster, service)
            alarm = next((a for a in record.alarms if a.name == name), None)
            if alarm is None:
                alarm = AlarmRecord(name=name, description=description)
                record.alarms.append(alarm)
            elif description:
                alarm.description = description
            alarm.forced_state = state
            alarm.forced_reason = reason
            alarm.forced_since = self.clock.now() if state is not None else None

    def set_secret_readable(self, reference: str, readable: bool) -> None:
        with self.change() as fleet:
            fleet.secrets[reference] = readable

    def push_image(self, repository: str, tag: str, size_bytes: int = 245_000_000, build: str = "") -> Image:
        """Add (or re-push) an image to the sandbox registry; another `build` of a tag has another digest."""
        with self.change() as fleet:
            image = Image(
                repository=repository,
                tag=tag,
                uri=f"{repository}:{tag}",
                digest=digest(fleet.seed, repository, tag + build),
                size_bytes=size_bytes,
                pushed_at=self.clock.now(),
            )
            images = [i for i in fleet.images.get(repository, []) if i.tag != tag]
            fleet.images[repository] = [*images, image]
            return image


def find_cluster(state: FleetState, cluster: str) -> ClusterState:
    try:
        return state.clusters[cluster]
    except KeyError:
        raise NotFound(f"Cluster '{cluster}' not found in the sandbox.") from None


def find_service_named(state: FleetState, cluster: str, name: str) -> ServiceState:
    try:
        return find_cluster(state, cluster).services[name]
    except KeyError:
        raise NotFound(f"Service '{name}' not found in cluster '{cluster}'.") from None


def find_service(state: FleetState, target: ServiceTarget) -> ServiceState:
    return find_service_named(state, target.cluster, target.name)


def find_task_definition(state: FleetState, cluster: str, family: str, revision: int) -> TaskDefinition:
    for definition in find_cluster(state, cluster).task_definitions.get(family, []):
        if definition.revision == revision:
            return definition
    raise NotFound(f"Task definition {family}:{revision} not found in cluster '{cluster}'.")


def record_tasks(service: ServiceState, at: datetime) -> None:
    """Append the running tasks to the timeline (the history the traffic model reads)."""
    tasks: dict[str, list[str]] = {}
    for task in [*service.tasks, *service.canary]:
        tasks.setdefault(task.version, []).append(task.task_id)
    timeline = service.timeline
    if timeline:
        if timeline[-1].tasks == tasks:
            return
        at = max(at, timeline[-1].at)  # another process's clock may run slightly behind ours
        if timeline[-1].at == at:
            timeline[-1].tasks = tasks
            return
    timeline.append(TimelineEntry(at=at, tasks=tasks))


def plan_rollout(service: ServiceState, definition: TaskDefinition, now: datetime) -> RolloutRecord:
    already = sum(1 for t in service.tasks if t.revision == definition.revision)
    to_replace = max(0, service.desired - already)
    steps = [
        # round() halves to even: 10 tasks go 2 → 5 → 8 → 10, like the reference output.
        RolloutStep(
            at=now + timedelta(seconds=ROLLOUT_STEP_SECONDS * k),
            new_count=already + round(to_replace * k / ROLLOUT_BATCHES),
        )
        for k in range(1, ROLLOUT_BATCHES + 1)
    ]
    return RolloutRecord(
        rollout_id=short_id(service.cluster, service.name, definition.revision, now.isoformat()),
        revision=definition.revision,
        version=definition.version,
        started_at=now,
        desired=service.desired,
        steps=steps,
    )


def settle(service: ServiceState, now: datetime) -> None:
    """Apply the steps of the running rollout whose time has come."""
    rollout = service.rollout
    if rollout is None or rollout.state != "IN_PROGRESS":
        return
    while rollout.applied < len(rollout.steps) and rollout.steps[rollout.applied].at <= now:
        step = rollout.steps[rollout.applied]
        new = [t for t in service.tasks if t.revision == rollout.revision]
        old = sorted((t for t in service.tasks if t.revision != rollout.revision), key=lambda t: t.started_at)
        new += [
            TaskRecord(
                task_id=short_id(rollout.rollout_id, rollout.applied, i, length=32),
                revision=rollout.revision,
                version=rollout.version,
                started_at=step.at,
            )
            for i in range(len(new), step.new_count)
        ]
        keep_old = max(0, rollout.desired - len(new))
        service.tasks = (old[max(0, len(old) - keep_old) :] if keep_old else []) + new
        rollout.applied += 1
        record_tasks(service, step.at)
    if rollout.applied == len(rollout.steps):
        rollout.state = "COMPLETED"
        rollout.completed_at = rollout.steps[-1].at
        service.primary_revision = rollout.revision
        service.last_deployed_at = rollout.completed_at
