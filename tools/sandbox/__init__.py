"""The built-in sandbox: a simulated ECS fleet that implements every protocol of `tools.backend`.

    fleet = open_fleet(config, store, time_scale)   # the fleet in `store`, seeded if absent
    backend = sandbox_backend(fleet)              # every protocol, over that one fleet
    ...
    backend.close()                               # persists the virtual time
    reset_sandbox(config, store)                  # back to the seeded fleet

The state is one JSON document shared by every process (`state.py`: a `FleetStore` holds it, in
the shared database for commands, in a file for the sandbox's own tests); each change is saved at
once, atomically. Time is virtual: a `ScaledClock` that starts at the latest virtual time any
command reached (or the wall clock, whichever is later) and runs `time_scale` times faster than the
wall clock (`RUNBOOK_TIME_SCALE`, else `sandbox.time_scale`); 0 makes `sleep` instant.

Traffic, metrics, logs and alarms are derived from the task timeline by `traffic.py` with
per-version profiles (`profiles.py`), e.g. checkout-api 1.2.3 is healthier than 1.2.2, 1.2.4 is
fine as a small canary but fails above half the traffic, 1.2.5 fails at any share. A rolling
update takes 4 batches of 68 virtual seconds (272 s in all).

Sandbox-only helpers (not part of the protocols) are on `backend.platform.fleet`, a `SandboxFleet`:
    fleet.set_alarm(cluster, service, name, state, reason)   # force an alarm; state=None: back to its metric
    fleet.set_secret_readable(reference, readable)
    fleet.push_image(repository, tag)
`backend.incidents.all_alarms(target)` lists every alarm with its state, not only those in ALARM.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tools.backend import Backend
from tools.clock import ScaledClock
from tools.config import RunbookConfig
from tools.sandbox.fleet import SandboxFleet
from tools.sandbox.observability import (
    SandboxIncidents,
    SandboxLogs,
    SandboxMetrics,
    SandboxRegistry,
    SandboxSecrets,
)
from tools.sandbox.platform import SandboxPlatform
from tools.sandbox.seed import seed_fleet
from tools.sandbox.state import STATE_FILENAME, FleetStorage, FleetStore

__all__ = ["FleetStore", "SandboxFleet", "open_fleet", "open_sandbox", "reset_sandbox", "sandbox_backend"]


def open_fleet(config: RunbookConfig, store: FleetStorage, time_scale: float) -> SandboxFleet:
    """The fleet in `store` (seeded if absent), with a clock that starts at the latest virtual time any
    command reached (or the wall clock, whichever is later) and runs `time_scale` times faster."""
    store.create_if_missing(lambda: seed_fleet(config, datetime.now(UTC)))
    start = max(store.read().virtual_now, datetime.now(UTC))
    return SandboxFleet(store, ScaledClock(start=start, scale=time_scale))


def sandbox_backend(fleet: SandboxFleet) -> Backend:
    """Every protocol of a backend over one shared fleet; closing it persists the virtual time."""
    backend = Backend(
        name="sandbox",
        platform=SandboxPlatform(fleet),
        registry=SandboxRegistry(fleet),
        metrics=SandboxMetrics(fleet),
        logs=SandboxLogs(fleet),
        incidents=SandboxIncidents(fleet),
        secrets=SandboxSecrets(fleet),
        clock=fleet.clock,
    )
    backend.on_close.append(fleet.save_time)
    return backend


def open_sandbox(config: RunbookConfig, state_dir: Path, time_scale: float | None = None) -> Backend:
    """A sandbox backend over the fleet file in `state_dir` (the sandbox's own tests; commands get
    theirs from the runtime, whose fleet lives in the shared database)."""
    from tools.config_files import apply_environment

    scale = apply_environment(config).sandbox.time_scale if time_scale is None else time_scale
    return sandbox_backend(open_fleet(config, FleetStore(Path(state_dir) / STATE_FILENAME), scale))


def reset_sandbox(config: RunbookConfig, store: FleetStorage) -> None:
    """Replace the fleet with a freshly seeded one; its clock restarts at the wall clock's now."""
    store.replace(seed_fleet(config, datetime.now(UTC)))
