"""The sandbox fleet's state and its file: one JSON document shared by every runbook process.

Every read-modify-write happens inside an exclusive `fcntl.flock` on a sibling lock file and
replaces the file atomically (temporary file + `os.replace`), so a deploy in one process and
`runbook status` in another never see half a write. Readers reload only when the file changed.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from tools.models import Image, TaskDefinition

STATE_FILENAME = "sandbox.json"
FORMAT_VERSION = 1

AlarmState = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]


class TaskRecord(BaseModel):
    task_id: str
    revision: int
    version: str
    started_at: datetime
    deployment_id: str | None = None  # a canary task: the deployment that started it


class TimelineEntry(BaseModel):
    """From `at` on (until the next entry), these tasks ran, grouped by version."""

    at: datetime
    tasks: dict[str, list[str]] = Field(default_factory=dict)


class RolloutStep(BaseModel):
    at: datetime
    new_count: int  # tasks of the new revision once this step has run


class RolloutRecord(BaseModel):
    rollout_id: str
    revision: int
    version: str
    started_at: datetime
    desired: int
    steps: list[RolloutStep]
    applied: int = 0  # steps already applied to the task list
    state: Literal["IN_PROGRESS", "COMPLETED", "FAILED"] = "IN_PROGRESS"
    completed_at: datetime | None = None


class AlarmRecord(BaseModel):
    """A metric alarm on the service's traffic, or one forced into a state by `set_alarm`."""

    name: str
    description: str = ""
    metric: Literal["error_rate_percent", "p99_ms"] | None = None
    threshold: float | None = None
    forced_state: AlarmState | None = None
    forced_reason: str = ""
    forced_since: datetime | None = None


class ServiceState(BaseModel):
    name: str
    cluster: str
    kind: str  # which traffic profiles apply (the catalog's service key, or "generic")
    family: str
    primary_revision: int
    desired: int
    requests_per_minute: float
    tasks: list[TaskRecord] = Field(default_factory=list)
    canary: list[TaskRecord] = Field(default_factory=list)  # every deployment's canary tasks
    rollout: RolloutRecord | None = None
    last_deployed_at: datetime | None = None
    timeline: list[TimelineEntry] = Field(default_factory=list)
    alarms: list[AlarmRecord] = Field(default_factory=list)


class ClusterState(BaseModel):
    services: dict[str, ServiceState] = Field(default_factory=dict)
    task_definitions: dict[str, list[TaskDefinition]] = Field(default_factory=dict)  # family -> revisions


class FleetState(BaseModel):
    format_version: int = FORMAT_VERSION
    seed: int
    seeded_at: datetime
    virtual_now: datetime  # the latest virtual time any process has seen; never goes backwards
    clusters: dict[str, ClusterState] = Field(default_factory=dict)
    images: dict[str, list[Image]] = Field(default_factory=dict)  # repository -> images
    secrets: dict[str, bool] = Field(default_factory=dict)  # reference -> readable (never a value)


_Signature = tuple[int, int, int]


class FleetStorage(Protocol):
    """Where the fleet's one JSON document lives: the shared database (`state_db.DatabaseFleetStore`)
    for commands, a file (`FleetStore`) for the sandbox's own tests."""

    def read(self) -> FleetState: ...

    def transaction(self) -> AbstractContextManager[FleetState]: ...

    def create_if_missing(self, make: Callable[[], FleetState]) -> None: ...

    def replace(self, state: FleetState) -> None: ...


class FleetStore:
    """`sandbox.json` plus its lock file, with an in-memory copy that is refreshed on change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock_path = path.with_name(path.name + ".lock")
        self._cache: FleetState | None = None
        self._signature: _Signature | None = None
        self._thread_lock = threading.RLock()

    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> FleetState:
        """The current state (shared, cached copy: callers must not persist changes made to it)."""
        with self._thread_lock, self.path.open("rb") as handle:
            stat = os.fstat(handle.fileno())
            signature = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if self._cache is None or signature != self._signature:
                self._cache = FleetState.model_validate_json(handle.read())
                self._signature = signature
            return self._cache

    @contextmanager
    def transaction(self) -> Iterator[FleetState]:
        """A fresh copy of the state, written back atomically when the block ends without error."""
        with self._thread_lock, self._exclusive():
            state = FleetState.model_validate_json(self.path.read_bytes())
            yield state
            self._write(state)

    def create_if_missing(self, make: Callable[[], FleetState]) -> None:
        if self.path.exists():
            return
        with self._thread_lock, self._exclusive():
            if not self.path.exists():
                self._write(make())

    def replace(self, state: FleetState) -> None:
        """Overwrite the state entirely (seeding and reset)."""
        with self._thread_lock, self._exclusive():
            self._write(state)

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.lock_path.open("a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _write(self, state: FleetState) -> None:
        data = state.model_dump_json(indent=1).encode()
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name + ".", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        stat = self.path.stat()
        self._cache = state
        self._signature = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
