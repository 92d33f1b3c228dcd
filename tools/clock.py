"""Clocks: the only way skills and backends learn the time or wait.

Everything that waits (canary observation, rollout polling, approval polling) goes through a
`Clock`, so tests run a 5-minute validation instantly and the demo runs it compressed.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let `seconds` of this clock's time pass."""
        ...


class SystemClock:
    """Real time: what production uses."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ScaledClock:
    """Time that runs `scale` times faster than the wall clock, from a starting point.

    `scale=0` means instant: `sleep` advances the clock without waiting at all (tests).
    `scale=60` runs a 60 s canary in one wall second (the demo). The clock never runs
    behind the wall clock's own progress, so two commands in a row agree on "now".
    """

    def __init__(self, start: datetime | None = None, scale: float = 0.0) -> None:
        self._lock = threading.Lock()
        self._offset = timedelta(0)
        if start is not None:
            self._offset = start - datetime.now(UTC)
        self.scale = scale

    def now(self) -> datetime:
        with self._lock:
            return datetime.now(UTC) + self._offset

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        wall = 0.0 if self.scale <= 0 else seconds / self.scale
        if wall > 0:
            time.sleep(wall)
        with self._lock:
            # The wall clock already moved by `wall`; make up the rest virtually.
            self._offset += timedelta(seconds=seconds - wall)

    @property
    def offset(self) -> timedelta:
        """How far this clock runs ahead of the wall clock."""
        with self._lock:
            return self._offset
