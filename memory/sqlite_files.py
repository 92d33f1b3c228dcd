"""Checks on a SQLite database's file and folder, made before SQLite opens (and so creates) anything.

Each problem is one StateError sentence naming the path and what to do: a file standing where the
state folder should be, a folder where the database file should be, a file or folder this user may
not read, and a database that is missing or empty while the folder still holds runbook's history.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from memory.errors import StateError

__all__ = ["OLD_HISTORY_FILES", "OLD_STATE_FILES", "check_history_not_lost", "prepare_sqlite_location"]

OLD_HISTORY_FILES = ("checkpoints.db", "conversations.db")  # written by runbook 0.1.0 after runbook.db
OLD_STATE_FILES = (*OLD_HISTORY_FILES, "sandbox.json")


def prepare_sqlite_location(path: Path) -> None:
    """Make the database's folder if needed; refuse what SQLite could not use, in one sentence."""
    folder = path.parent
    blocker = _file_in_the_way(folder)
    if blocker is not None:
        raise StateError(
            f"The state folder {folder} cannot be made because {blocker} is a file: move that file away, "
            f"or point database_url elsewhere."
        )
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StateError(
            f"The state folder {folder} cannot be made ({_reason(exc)}): create it by hand with write access "
            f"for this user, or point database_url elsewhere."
        ) from exc
    try:
        os.listdir(folder)
        is_dir = path.is_dir()
        exists = path.exists()
    except OSError as exc:
        raise StateError(
            f"The state folder {folder} cannot be read ({_reason(exc)}): give this user read and write "
            f"access to it."
        ) from exc
    if is_dir:
        raise StateError(
            f"{path} is a folder, not a database file: move it away, or point database_url at a file."
        )
    # Never open (and close) the file itself to test it: closing any descriptor of a file drops every
    # POSIX lock this process holds on it, SQLite's included, and a database open in this process
    # (the engine of an earlier runtime) would then be written unlocked and corrupted.
    if exists and not os.access(path, os.R_OK):
        raise StateError(
            f"{path} cannot be read (permission denied): give this user read and write access to it and "
            f"its folder."
        )


def check_history_not_lost(path: Path) -> None:
    """Refuse a missing or empty database next to the history runbook 0.1.0 wrote beside it.

    A folder holding only ``sandbox.json`` is not history: ``runbook sandbox reset`` in 0.1.0 wrote it
    without a database, so that one is imported rather than refused (see ``memory.legacy``).
    """
    folder = path.parent
    old = [name for name in OLD_STATE_FILES if (folder / name).is_file()]
    history = [name for name in old if name in OLD_HISTORY_FILES]
    if not path.exists():
        if history:
            raise StateError(
                f"{path} is missing but {folder} still holds runbook history ({', '.join(history)}): "
                f"restore {path.name} from a backup, or move the folder aside to start a new history."
            )
        return
    if path.is_file() and path.stat().st_size == 0 and old:
        raise StateError(
            f"{path} is empty (0 bytes) but {folder} still holds runbook state ({', '.join(old)}): "
            f"restore {path.name} from a backup, or move the folder aside to start a new history."
        )


def _file_in_the_way(folder: Path) -> Path | None:
    """The first existing ancestor of ``folder`` (itself included) when it is not a folder."""
    for candidate in (folder, *folder.parents):
        try:
            if candidate.exists():
                return None if candidate.is_dir() else candidate
        except OSError:
            return None  # unreadable: mkdir below says so
    return None


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    return exc.strerror or type(exc).__name__
