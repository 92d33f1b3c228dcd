"""Opening the store again in a process that already has the database open must not drop SQLite's
POSIX locks: closing any descriptor of a file releases every lock the process holds on it (fcntl's
rule), and a database used without its locks gets corrupted ("file is not a database" was seen when a
second runtime in one process checked the file by opening and closing it)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

from memory.database import open_store

_TRY_LOCK = """
import fcntl, sys
with open(sys.argv[1], "r+b") as handle:
    try:
        fcntl.lockf(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 0)
    except OSError:
        print("still locked")
    else:
        print("the lock was dropped")
"""


def test_opening_the_store_again_keeps_the_locks_this_process_holds(tmp_path: Path) -> None:
    path = tmp_path / "state" / "runbook.db"
    url = f"sqlite:///{path}"
    open_store(url).close()
    fd = os.open(path, os.O_RDWR)
    fcntl.lockf(fd, fcntl.LOCK_EX, 1, 0)  # as SQLite holds its locks: a POSIX lock on a byte range
    try:
        open_store(url).close()  # a second runtime in the same process (the Slack bot, a test)
        other = subprocess.run([sys.executable, "-c", _TRY_LOCK, str(path)], capture_output=True, text=True,
                               timeout=60)
        assert other.stdout.strip() == "still locked", other.stdout + other.stderr
    finally:
        os.close(fd)
