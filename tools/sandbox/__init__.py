"""The built-in sandbox: a simulated ECS fleet that implements every protocol of `tools.backend`.

    backend = open_sandbox(config, state_dir)   # loads state_dir/sandbox.json, seeding it if absent
    ...
    backend.close()                             # persists the virtual time
    reset_sandbox(config, state_dir)            # back to the seeded fleet

The state is one JSON file shared by every process (see `state.py`); each change is saved at
once, under a file lock. Time is virtual: a `ScaledClock` that starts at the latest virtual time
any command reached (or the wall clock, whichever is later) and runs `RUNBOOK_TIME_SCALE`
(else `sandbox.time_scale`) times faster than the wall clock; 0 makes `sleep` instant.

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

import os
from datetime import UTC, datetime
from pathlib import Path

from tools.backend import Backend
from tools.clock import ScaledClock
from tools.config import ConfigError, RunbookConfig
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
from tools.sandbox.state import STATE_FILENAME, FleetStore

__all__ = ["SandboxFleet", "open_sandbox", "reset_sandbox"]


def open_sandbox(config: RunbookConfig, state_dir: Path) -> Backend:
    scale = _time_scale(config)
    store = FleetStore(Path(state_dir) / STATE_FILENAME)
    store.create_if_missing(lambda: seed_fleet(config, datetime.now(UTC)))
    start = max(store.read().virtual_now, datetime.now(UTC))
    fleet = SandboxFleet(store, ScaledClock(start=start, scale=scale))
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


def reset_sandbox(config: RunbookConfig, state_dir: Path) -> None:
    """Replace the fleet with a freshly seeded one; its clock restarts at the wall clock's now."""
    FleetStore(Path(state_dir) / STATE_FILENAME).replace(seed_fleet(config, datetime.now(UTC)))


def _time_scale(config: RunbookConfig) -> float:
    raw = os.environ.get("RUNBOOK_TIME_SCALE")
    if raw is None:
        return config.sandbox.time_scale
    try:
        scale = float(raw)
    except ValueError:
        scale = -1.0
    if not scale >= 0:
        raise ConfigError(f"RUNBOOK_TIME_SCALE must be a number of at least 0, got '{raw}'.")
    return scale
