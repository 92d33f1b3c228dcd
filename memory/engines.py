"""One engine (``memory.sql.Engine``: a connection source) per database URL per process, set up per dialect.

A long-running process (the Slack bot) opens the store for every event: the engine and its idle
connections are made once and kept (a few engines at most; the oldest is disposed when more are
opened). In-memory SQLite is never shared: each store gets its own. After a fork the child drops the
parent's connections without closing them.

SQLite: the stdlib ``sqlite3`` in autocommit mode (runbook issues BEGIN itself, so a write transaction
can take the write lock up front), a busy timeout, WAL. PostgreSQL: ``psycopg`` (v3, imported only for
a PostgreSQL URL), autocommit with explicit transactions, a connect timeout, and a ping before a pooled
connection is reused.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import OrderedDict
from typing import Any

from memory.sql import Engine
from memory.urls import psycopg_arguments, sqlite_path

__all__ = [
    "BUSY_TIMEOUT_SECONDS",
    "dispose_engine",
    "dispose_engines",
    "engine_for",
    "ensure_wal",
    "make_engine",
]

BUSY_TIMEOUT_SECONDS = 30.0
PG_CONNECT_TIMEOUT_SECONDS = 10
MAX_CACHED = 8

_lock = threading.Lock()
_engines: OrderedDict[str, Engine] = OrderedDict()
_ready: set[str] = set()  # URLs whose schema this process has already checked and migrated
_forked_away: list[Any] = []  # the parent's connections, in a forked child: kept, never closed


def make_engine(url: str) -> Engine:
    """A new engine for (normalised) ``url``."""
    if not url.startswith("sqlite"):
        arguments = psycopg_arguments(url)

        def open_postgresql() -> Any:
            import psycopg

            return psycopg.connect(autocommit=True, connect_timeout=PG_CONNECT_TIMEOUT_SECONDS, **arguments)

        return Engine("postgresql", open_postgresql, wait_seconds=BUSY_TIMEOUT_SECONDS)
    path = sqlite_path(url)
    database = ":memory:" if path is None else str(path)

    def open_sqlite() -> sqlite3.Connection:
        conn = sqlite3.connect(database, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
            if path is not None:
                ensure_wal(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    return Engine("sqlite", open_sqlite, single=path is None, wait_seconds=BUSY_TIMEOUT_SECONDS)


def ensure_wal(dbapi_connection: Any) -> None:
    """Put the database in WAL mode (once per file; later connections only read the mode).

    Switching needs a moment alone with the file, and SQLite answers "database is locked" at once
    rather than waiting when processes open a fresh file together: retry (up to the busy timeout).
    A read-only file stays in its mode (reading works; a write then says it is read-only).
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
    pause = 0.005
    while True:
        try:
            mode = dbapi_connection.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() == "wal":
                return
            dbapi_connection.execute("PRAGMA journal_mode = WAL").fetchone()
            return
        except sqlite3.OperationalError as exc:
            code = str(getattr(exc, "sqlite_errorname", ""))
            if code.startswith("SQLITE_READONLY"):
                return
            if not code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.1)


def is_shared(url: str) -> bool:
    """Whether stores on ``url`` share one cached engine (everything but in-memory SQLite)."""
    return url != "sqlite://" and ":memory:" not in url


def engine_for(url: str) -> Engine:
    """The process's engine for ``url`` (normalised), made on first use."""
    if not is_shared(url):
        return make_engine(url)
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _engines[url] = make_engine(url)
            while len(_engines) > MAX_CACHED:
                old_url, old = _engines.popitem(last=False)
                _ready.discard(old_url)
                old.dispose()  # stores still holding it keep working: new connections are made on demand
        else:
            _engines.move_to_end(url)
        return engine


def is_ready(url: str) -> bool:
    with _lock:
        return url in _ready


def mark_ready(url: str, ready: bool = True) -> None:
    with _lock:
        if ready and url in _engines:
            _ready.add(url)
        elif not ready:
            _ready.discard(url)


def dispose_engine(url: str) -> None:
    """Close the pooled connections of ``url`` and forget its engine (e.g. before dropping the database)."""
    with _lock:
        engine = _engines.pop(url, None)
        _ready.discard(url)
    if engine is not None:
        engine.dispose()


def dispose_engines() -> None:
    """Close every pooled connection this process holds (end of a test, end of the process)."""
    with _lock:
        engines = list(_engines.values())
        _engines.clear()
        _ready.clear()
    for engine in engines:
        engine.dispose()


def _after_fork_in_child() -> None:
    # The parent's connections must not be used (or closed) by the child.
    global _lock
    _lock = threading.Lock()
    for engine in _engines.values():
        _forked_away.extend(engine.abandon())
    _engines.clear()
    _ready.clear()


os.register_at_fork(after_in_child=_after_fork_in_child)
