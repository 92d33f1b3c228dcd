"""Turning what a database driver raises into one StateError sentence naming the file or URL.

The store uses the drivers directly (``memory.sql``), so what arrives here is ``sqlite3.Error``,
``psycopg.Error`` or ``OSError``. Only failures of the state itself are translated (cannot open,
damaged, read-only, full, locked, unreachable, refused); errors that mean a bug or a business rule
(IntegrityError, DataError, most ProgrammingErrors) pass through untouched. The raw driver message is
never shown: it can run over several lines, and for PostgreSQL it may echo parts of the URL. The
password is always masked.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from memory.errors import StateError
from memory.urls import display_url, sqlite_path

__all__ = ["state_error", "translated"]


@contextmanager
def translated(url: str) -> Iterator[None]:
    """Re-raise state failures met inside the block as StateError (with the original as its cause)."""
    try:
        yield
    except StateError:
        raise
    except (sqlite3.Error, OSError) as exc:
        if _is_bug(exc):
            raise
        raise state_error(exc, url) from exc
    except Exception as exc:
        if _is_psycopg_failure(exc):
            raise state_error(exc, url) from exc
        raise


def state_error(exc: BaseException, url: str) -> StateError:
    """One sentence for ``exc`` met while using the database at ``url``."""
    orig = exc
    where = display_url(url)
    if sqlite_path(url) is not None or isinstance(orig, sqlite3.Error):
        return StateError(_sqlite_sentence(orig, where))
    if isinstance(orig, OSError):
        return StateError(_os_sentence(orig, where))
    return StateError(_postgres_sentence(orig, where))


def _is_bug(orig: BaseException | None) -> bool:
    """Errors that say our code is wrong (or a rule was hit), not that the state is unusable."""
    if isinstance(orig, (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError,
                         sqlite3.DataError)):
        return True
    kinds = _psycopg_kinds(orig)
    return bool(kinds & {"IntegrityError", "DataError", "ProgrammingError"}) and _sqlstate(orig) != "42501"


def _psycopg_kinds(exc: BaseException | None) -> set[str]:
    """The DB-API classes a psycopg error belongs to (its own class is specific: UniqueViolation, ...)."""
    if exc is None:
        return set()
    return {cls.__name__ for cls in type(exc).__mro__ if cls.__module__.startswith("psycopg")}


def _is_psycopg_failure(exc: BaseException) -> bool:
    """A psycopg error that is not the code's (OperationalError, InternalError, InterfaceError, a lost
    connection, a missing privilege...)."""
    kinds = _psycopg_kinds(exc)
    return "Error" in kinds and not _is_bug(exc)


def _driver_class(orig: BaseException) -> str:
    cls = type(orig)
    module = cls.__module__.split(".")[0]
    name = f"{module}.{cls.__name__}"
    code = getattr(orig, "sqlite_errorname", None)
    return f"{name} {code}" if code else name


def _sqlite_sentence(orig: BaseException, where: str) -> str:
    if isinstance(orig, OSError):
        return _os_sentence(orig, where)
    code = str(getattr(orig, "sqlite_errorname", "") or "")
    message = str(orig).lower()
    cls = _driver_class(orig)
    if code.startswith("SQLITE_NOTADB") or "file is not a database" in message:
        return (f"{where} is not a SQLite database (overwritten or damaged, {cls}): move it aside and restore "
                f"it from a backup, or point database_url at another file.")
    if code.startswith("SQLITE_CORRUPT") or "malformed" in message:
        return (f"{where} is damaged (truncated or corrupt, {cls}): move it aside and restore it from a "
                f"backup, or point database_url at another file.")
    if code == "SQLITE_READONLY_DIRECTORY":
        return (f"{where} cannot be used because its folder is read-only (SQLite keeps its journal beside "
                f"the file, {cls}): make the folder writable for this user, or point database_url at a "
                f"writable place.")
    if code.startswith("SQLITE_READONLY") or "readonly" in message:
        return (f"{where} is read-only and a write to it failed ({cls}): make the file and its folder "
                f"writable for this user, or point database_url at a writable place.")
    if code.startswith("SQLITE_FULL") or "disk is full" in message:
        return (f"The disk holding {where} is full and a write failed, so nothing was saved ({cls}): free some "
                f"space and run the command again.")
    if code.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")) or "unable to open" in message:
        return (f"{where} cannot be opened (permission denied, or its folder is missing, {cls}): give this "
                f"user read and write access to the file and its folder.")
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in message:
        return (f"{where} stayed locked by another process for too long ({cls}): wait for it to finish and "
                f"run the command again.")
    if code.startswith("SQLITE_IOERR") or "disk i/o" in message:
        return (f"{where} could not be read or written because of an I/O error ({cls}): check the disk and "
                f"run the command again.")
    if "no such table" in message or "no such column" in message:
        return (f"{where} is missing part of runbook's tables ({cls}): restore it from a backup, or move it "
                f"aside to start a new history.")
    return f"{where} cannot be used ({cls}): check the file, or point database_url at another database."


def _os_sentence(orig: OSError, where: str) -> str:
    cls = f"{type(orig).__name__} {errno.errorcode.get(orig.errno or 0, '')}".strip()
    if orig.errno in (errno.EACCES, errno.EPERM):
        return (f"{where} cannot be read or written (permission denied, {cls}): give this user read and "
                f"write access to it and its folder.")
    if orig.errno == errno.EROFS:
        return (f"{where} is on a read-only file system and a write failed ({cls}): point database_url at a "
                f"writable place.")
    if orig.errno == errno.ENOSPC:
        return (f"The disk holding {where} is full and a write failed, so nothing was saved ({cls}): free some "
                f"space and run the command again.")
    if orig.errno in (errno.ENOTDIR, errno.EEXIST):
        return (f"A file stands where the folder of {where} should be ({cls}): move that file away, or point "
                f"database_url elsewhere.")
    return f"{where} cannot be used ({cls}): check the file and its folder."


def _sqlstate(orig: BaseException | None) -> str | None:
    return getattr(orig, "sqlstate", None)


def _postgres_sentence(orig: BaseException, where: str) -> str:
    state = _sqlstate(orig) or ""
    message = str(orig).lower()
    cls = _driver_class(orig)
    if state in ("28P01", "28000") or "password authentication failed" in message or "no password" in message:
        return (f"PostgreSQL at {where} refused the login ({cls}): check the user name and password in "
                f"database_url.")
    if state == "3D000" or ("database" in message and "does not exist" in message):
        return (f"The PostgreSQL database {where} does not exist ({cls}): create it, or fix the database name "
                f"in database_url.")
    if state == "42501" or "permission denied" in message:
        return (f"The PostgreSQL user of {where} lacks a permission runbook needs ({cls}): grant it access to "
                f"the database, or use another user.")
    if state == "25006" or "read-only transaction" in message:
        return (f"The PostgreSQL database {where} is read-only and a write to it failed ({cls}): point "
                f"database_url at a writable primary.")
    if state.startswith("53") and state != "53300":
        return (f"The PostgreSQL server of {where} is out of disk or memory and a write failed, so nothing was "
                f"saved ({cls}): free some space and run the command again.")
    reason = _unreachable_reason(message, state)
    if reason:
        return (f"The PostgreSQL database {where} cannot be reached ({reason}, {cls}): check that the server "
                f"is running and the host and port in database_url.")
    return f"The PostgreSQL database {where} cannot be used ({cls}): check the server and database_url."


def _unreachable_reason(message: str, state: str) -> str | None:
    if "connection refused" in message:
        return "connection refused"
    if "translate host name" in message or "name or service not known" in message:
        return "unknown host"
    if "timeout" in message or "timed out" in message:
        return "timed out"
    if "no such file or directory" in message:
        return "no server socket there"
    if state == "53300" or "too many" in message:
        return "too many connections"
    if state.startswith("57P") or "shutting down" in message or "starting up" in message:
        return "the server is not accepting connections"
    if "server closed the connection" in message or "connection" in message and "lost" in message:
        return "connection lost"
    if "connection" in message or "could not connect" in message:
        return "connection failed"
    return None
