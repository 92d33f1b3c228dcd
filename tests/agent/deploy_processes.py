"""Deploys in processes of their own, stopped where a test needs them: killed with SIGKILL (no clean-up
at all), or still running while the test acts."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from memory.scratchpad import Scratchpad
from tests.agent.cli_support import RUNBOOK, recorded_deployments

LOCK_KEY = "checkout-api/production"


def start_deploy(until: str, version: str = "1.2.3") -> tuple[subprocess.Popen[str], str]:
    """`runbook deploy` in its own process, slow enough (time scale 20) to stop at the line containing `until`."""
    return run_until(RUNBOOK + ["deploy", "checkout-api", "--version", version, "-e", "production"], until,
                     env=os.environ | {"RUNBOOK_TIME_SCALE": "20"})


def run_until(argv: list[str], until: str, cwd: Path | None = None,
              env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], str]:
    """`argv` in its own process, left running once it prints a line containing `until`; (process, output so far)."""
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if until in line:
            return process, "".join(seen)
    process.wait(timeout=30)
    raise AssertionError(f"the deploy ended before {until!r}:\n" + "".join(seen))


def killed_deploy(until: str, version: str = "1.2.3") -> str:
    """A deploy killed with SIGKILL (no clean-up at all) at the line containing `until`; returns its id.

    At "Waiting for approval" it is killed once it waits: its approval poll has refreshed the lock.
    """
    process, _ = start_deploy(until, version)
    if "approval" in until:
        shown = lock_expiry()
        deadline = time.monotonic() + 30
        while lock_expiry() == shown and time.monotonic() < deadline:
            time.sleep(0.05)
    process.kill()
    process.wait(timeout=30)  # reaped: its pid is gone
    (row,) = history()
    assert row["status"] == "running"
    return str(row["id"])


@contextmanager
def live_deploy(until: str) -> Iterator[str]:
    """A deploy still running in another process; interrupted (and so cleaned up) afterwards."""
    process, _ = start_deploy(until)
    try:
        yield str(history()[0]["id"])
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=60)


def lock_expiry() -> datetime | None:
    store = Scratchpad.in_dir(Path(".runbook"))
    try:
        lock = store.get_lock(LOCK_KEY)
    finally:
        store.close()
    return lock.expires_at if lock else None


def history() -> list[dict[str, Any]]:
    return recorded_deployments()


