"""Whether the deploy holding a lock is still alive.

A running deploy refreshes its lock from every wait loop, so a lock past its expiry belongs to a deploy
whose process is gone. Before that, the lock's host, boot and pid tell more: on the same host (and the
same boot) a pid that no longer exists is a dead deploy at once; on another host only the expiry can say.
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import cache
from pathlib import Path

from memory.records import LockRecord

HOLDER_PATTERN = re.compile(r"^(?P<user>.*)@(?P<host>[^@\s]+) \(pid (?P<pid>\d+)\)$")


class Liveness(Enum):
    ALIVE = "alive"  # this host, its process runs
    DEAD = "dead"  # this host, its process is gone (or the host rebooted since)
    EXPIRED = "expired"  # nobody refreshed it in time: its process is gone, wherever it ran
    UNKNOWN = "unknown"  # another host, within its expiry: maybe alive


@cache
def boot_id() -> str | None:
    """This boot of this host (Linux); a lock taken before a reboot belongs to a process that is gone."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip() or None
    except OSError:
        return None


@dataclass(frozen=True)
class Holder:
    """The process that holds (or would hold) a deploy lock."""

    user: str
    host: str
    pid: int
    boot: str | None = None

    @classmethod
    def this_process(cls, user: str) -> Holder:
        return cls(user=user, host=socket.gethostname(), pid=os.getpid(), boot=boot_id())

    @classmethod
    def of(cls, lock: LockRecord) -> Holder | None:
        """The lock's holder, from its host/pid columns, else from its `holder` text."""
        host, pid = getattr(lock, "host", None), getattr(lock, "pid", None)
        match = HOLDER_PATTERN.match(lock.holder)
        if host and pid:
            return cls(user=match["user"] if match else lock.holder, host=host, pid=int(pid),
                       boot=getattr(lock, "boot_id", None))
        if match:
            return cls(user=match["user"], host=match["host"], pid=int(match["pid"]))
        return None

    @property
    def label(self) -> str:
        return f"{self.user}@{self.host} (pid {self.pid})"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # this very process may run deploys in other threads (the Slack bot)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def liveness(lock: LockRecord, now: datetime) -> Liveness:
    if lock.expires_at <= now:
        return Liveness.EXPIRED
    holder = Holder.of(lock)
    if holder is None or holder.host != socket.gethostname():
        return Liveness.UNKNOWN
    if holder.boot is not None and boot_id() is not None and holder.boot != boot_id():
        return Liveness.DEAD
    return Liveness.ALIVE if _pid_alive(holder.pid) else Liveness.DEAD
