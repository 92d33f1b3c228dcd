"""runbook's own small DB-API layer: what the store needs of sqlite3 and psycopg 3, and nothing more.

    engine = Engine("sqlite", opener)            # memory.engines makes them, one per URL per process
    with engine.begin(immediate=True) as conn:   # BEGIN IMMEDIATE on SQLite, BEGIN on PostgreSQL
        conn.execute('UPDATE locks SET holder = :holder WHERE "key" = :key', {"holder": h, "key": k})

- Statements are written once, with ``:name`` placeholders; on PostgreSQL they become psycopg's
  ``%(name)s`` (``to_pyformat``). Values are bound by type (``memory._types.encode``).
- An ``Engine`` is a connection source: idle connections are kept for reuse (a few), and a connection
  is used by one thread at a time, so threads (a deploy's heartbeat, the Slack bot's requests) can
  share an engine. An in-memory SQLite engine has exactly one connection, taken in turn.
- Errors are the drivers' own (``sqlite3.Error``, ``psycopg.Error``): ``memory.failures`` turns the
  state's failures into a StateError; ``is_integrity_error`` recognises a broken constraint on both.
- ``Engine.hooks`` is a seam for tests (fault injection): functions called on every new DB-API
  connection and before every statement. Nothing in runbook itself registers one.
"""

from __future__ import annotations

import os
import re
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from memory._types import Dialect, encode

__all__ = [
    "Connection",
    "Engine",
    "Hooks",
    "Result",
    "column_names",
    "is_integrity_error",
    "table_names",
    "to_pyformat",
]

Params = Mapping[str, Any]
Opener = Callable[[], Any]
ConnectHook = Callable[[Any], None]
StatementHook = Callable[[str, Params], None]


@dataclass
class Hooks:
    """For tests only: ``on_connect(dbapi_connection)`` runs on every new connection (after runbook's own
    set-up), ``before_execute(sql, params)`` before every statement (not BEGIN/COMMIT); either may raise,
    e.g. ``sqlite3.OperationalError("database or disk is full")`` to play a full disk."""

    on_connect: list[ConnectHook] = field(default_factory=list)
    before_execute: list[StatementHook] = field(default_factory=list)


class Result:
    """What a statement returned, fetched at once: column names, rows (tuples), rowcount, lastrowid."""

    __slots__ = ("columns", "lastrowid", "rowcount", "rows")

    def __init__(self, columns: tuple[str, ...], rows: list[tuple[Any, ...]], rowcount: int,
                 lastrowid: int | None) -> None:
        self.columns = columns
        self.rows = rows
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def mappings(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def first(self) -> dict[str, Any] | None:
        return dict(zip(self.columns, self.rows[0], strict=True)) if self.rows else None

    def scalars(self) -> list[Any]:
        return [row[0] for row in self.rows]

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None


_TOKENS = re.compile(
    r"'(?:[^']|'')*'"  # a string literal
    r'|"(?:[^"]|"")*"'  # a quoted identifier
    r"|\$\$.*?\$\$"  # a dollar-quoted body
    r"|--[^\n]*"  # a comment
    r"|::"  # a PostgreSQL cast
    r"|:([A-Za-z_]\w*)"  # a placeholder
    r"|%",
    re.S,
)


@lru_cache(maxsize=512)
def to_pyformat(sql: str) -> str:
    """``:name`` placeholders as psycopg's ``%(name)s``. A ``:name`` inside a string, a quoted identifier,
    a dollar-quoted body or a comment is left alone, as is a ``::`` cast; every ``%`` is doubled, in
    those too (psycopg reads its placeholders everywhere in the text)."""

    def replace(match: re.Match[str]) -> str:
        if match.group(1):
            return f"%({match.group(1)})s"
        return match.group(0).replace("%", "%%")

    return _TOKENS.sub(replace, sql)


class Connection:
    """One DB-API connection, checked out of its engine for one block (one thread)."""

    def __init__(self, raw: Any, dialect: Dialect, hooks: Hooks) -> None:
        self.raw = raw
        self.dialect = dialect
        self._hooks = hooks

    def execute(self, sql: str, params: Params | None = None) -> Result:
        """Run one statement with ``:name`` placeholders; the rows it returns are fetched at once."""
        for hook in tuple(self._hooks.before_execute):
            hook(sql, params or {})
        cursor = self.raw.cursor()
        try:
            if params:
                bound = {name: encode(value, self.dialect) for name, value in params.items()}
                cursor.execute(sql if self.dialect == "sqlite" else to_pyformat(sql), bound)
            else:
                cursor.execute(sql)
            description = cursor.description
            columns = tuple(column[0] for column in description) if description else ()
            rows = [tuple(row) for row in cursor.fetchall()] if description else []
            lastrowid = cursor.lastrowid if self.dialect == "sqlite" else None
            return Result(columns, rows, cursor.rowcount, lastrowid)
        finally:
            cursor.close()

    # -- transactions (explicit: the drivers run in autocommit mode) --------------------------------

    def begin(self, *, immediate: bool = False) -> None:
        """Start a transaction; ``immediate`` takes SQLite's write lock up front (PostgreSQL: plain BEGIN)."""
        self._control("BEGIN IMMEDIATE" if immediate and self.dialect == "sqlite" else "BEGIN")

    def commit(self) -> None:
        self._control("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self._control("ROLLBACK")

    @property
    def in_transaction(self) -> bool:
        if self.dialect == "sqlite":
            return bool(self.raw.in_transaction)
        from psycopg.pq import TransactionStatus

        return bool(self.raw.info.transaction_status != TransactionStatus.IDLE)

    def _control(self, statement: str) -> None:
        cursor = self.raw.cursor()
        try:
            cursor.execute(statement)
        finally:
            cursor.close()


class _Pooled:
    __slots__ = ("generation", "raw")

    def __init__(self, raw: Any, generation: int) -> None:
        self.raw = raw
        self.generation = generation


class Engine:
    """The connections of one database: ``connect()`` and ``begin()`` check one out for a block.

    ``opener()`` makes a new DB-API connection (autocommit, the dialect's settings). Up to ``pool_size``
    idle connections are kept; ``single=True`` (in-memory SQLite) means one connection, used in turn.
    ``dispose()`` closes the idle ones; the engine stays usable and opens new connections on demand.
    """

    def __init__(self, dialect: Dialect, opener: Opener, *, pool_size: int = 5, single: bool = False,
                 wait_seconds: float = 30.0) -> None:
        self.dialect: Dialect = dialect
        self.hooks = Hooks()
        self._opener = opener
        self._pool_size = 1 if single else pool_size
        self._single = single
        self._wait_seconds = wait_seconds
        self._idle: deque[_Pooled] = deque()
        self._generation = 0
        self._lock = threading.Lock()
        self._turn = threading.Lock()  # single: whose turn it is to use the one connection

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for this block, outside any transaction (each statement commits on its own)."""
        pooled = self._checkout()
        try:
            yield Connection(pooled.raw, self.dialect, self.hooks)
        finally:
            self._checkin(pooled)

    @contextmanager
    def begin(self, *, immediate: bool = False) -> Iterator[Connection]:
        """A connection inside a transaction, committed when the block ends and rolled back if it raises."""
        with self.connect() as conn:
            conn.begin(immediate=immediate)
            try:
                yield conn
            except BaseException:
                _quietly(conn.rollback)
                raise
            conn.commit()

    def dispose(self) -> None:
        """Close the idle connections; those in use are closed when their block ends."""
        with self._lock:
            self._generation += 1
            idle, self._idle = list(self._idle), deque()
        for pooled in idle:
            _quietly(pooled.raw.close)

    def abandon(self) -> list[Any]:
        """After a fork, in the child: forget every idle connection without closing it (they are the
        parent's). Returns them, for the caller to keep referenced. A PostgreSQL connection's socket is
        pointed at /dev/null in the child first, so that whenever the child does close or collect it,
        the goodbye libpq sends cannot end the parent's session."""
        self._lock = threading.Lock()
        self._turn = threading.Lock()
        self._generation += 1
        idle, self._idle = [pooled.raw for pooled in self._idle], deque()
        if self.dialect == "postgresql" and idle:
            devnull = os.open(os.devnull, os.O_RDWR)
            try:
                for raw in idle:
                    try:
                        os.dup2(devnull, raw.fileno())
                    except Exception:  # noqa: S112 - closed already: nothing of the parent's left in it
                        continue
            finally:
                os.close(devnull)
        return idle

    # -- the pool -----------------------------------------------------------------------------------

    def _checkout(self) -> _Pooled:
        if self._single and not self._turn.acquire(timeout=self._wait_seconds):
            import sqlite3

            raise sqlite3.OperationalError("database is locked")
        try:
            while True:
                with self._lock:
                    pooled = self._idle.pop() if self._idle else None
                    generation = self._generation
                if pooled is None:
                    raw = self._opener()
                    try:
                        for hook in tuple(self.hooks.on_connect):
                            hook(raw)
                    except BaseException:
                        _quietly(raw.close)
                        raise
                    return _Pooled(raw, generation)
                if self._usable(pooled.raw):
                    return pooled
                _quietly(pooled.raw.close)
        except BaseException:
            if self._single:
                self._turn.release()
            raise

    def _checkin(self, pooled: _Pooled) -> None:
        try:
            keep = self._usable(pooled.raw, ping=False)
            if keep:
                conn = Connection(pooled.raw, self.dialect, self.hooks)
                try:
                    conn.rollback()  # a block left inside a transaction (a failed COMMIT): end it
                    keep = not conn.in_transaction
                except Exception:
                    keep = False
            with self._lock:
                if keep and pooled.generation == self._generation and len(self._idle) < self._pool_size:
                    self._idle.append(pooled)
                    pooled = None  # type: ignore[assignment]
            if pooled is not None:
                _quietly(pooled.raw.close)
        finally:
            if self._single:
                self._turn.release()

    def _usable(self, raw: Any, *, ping: bool = True) -> bool:
        """Whether a pooled connection still works (PostgreSQL: not closed or broken, and, before reuse,
        it answers ``SELECT 1``; the server may have ended the session meanwhile)."""
        if self.dialect == "sqlite":
            return True
        if raw.closed or raw.broken:
            return False
        if not ping:
            return True
        try:
            raw.execute("SELECT 1")
        except Exception:
            return False
        return True


def _quietly(action: Callable[[], Any]) -> None:
    try:
        action()
    except Exception:  # noqa: S110 - clean-up of a connection that is already failing
        pass


# -- what migrations need to know of a database ----------------------------------------------------

def table_names(conn: Connection) -> set[str]:
    """The tables of the database (SQLite: but its own ``sqlite_*``; PostgreSQL: the current schema)."""
    if conn.dialect == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite~_%' ESCAPE '~'"
    else:
        sql = ("SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
               "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')")
    return {str(name) for name in conn.execute(sql).scalars()}


def column_names(conn: Connection, table: str) -> list[str]:
    """The columns of ``table``, in their order."""
    if conn.dialect == "sqlite":
        if not re.fullmatch(r"\w+", table):
            raise ValueError(f"not a table name: {table!r}")
        return [str(row[1]) for row in conn.execute(f'PRAGMA table_info("{table}")').rows]
    return [str(name) for name in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = :table ORDER BY ordinal_position", {"table": table}).scalars()]


def is_integrity_error(exc: BaseException) -> bool:
    """A broken constraint (a duplicate key...), from either driver, without importing psycopg."""
    import sqlite3

    if isinstance(exc, sqlite3.IntegrityError):
        return True
    return any(cls.__name__ == "IntegrityError" and cls.__module__.startswith("psycopg")
               for cls in type(exc).__mro__)
