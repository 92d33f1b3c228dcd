"""Scratchpad tables (SQLAlchemy Core), engine set-up for every dialect, and connection plumbing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, TypeVar

from pydantic import BaseModel
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Dialect,
    Engine,
    Index,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    Text,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from memory.records import as_utc

BUSY_TIMEOUT_SECONDS = 30.0
DB_FILENAME = "runbook.db"
_R = TypeVar("_R", bound=BaseModel)
IMMEDIATE = "runbook_immediate"  # execution option: start the transaction holding the write lock


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out. SQLite keeps no zone, so it stores naive UTC and we restore it."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

deployments = Table(
    "deployments",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("service", String(255), nullable=False),
    Column("environment", String(255), nullable=False),
    Column("from_version", String(255)),
    Column("to_version", String(255), nullable=False),
    Column("image_digest", String(255)),
    Column("requester", String(255), nullable=False),
    Column("approver", String(255)),
    Column("started_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime),
    Column("status", String(64), nullable=False),
    Column("from_revision", Integer),
    Column("to_revision", Integer),
    Column("metrics_before", JSON, nullable=False),
    Column("metrics_after", JSON, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("detail", Text, nullable=False),
    Index("ix_deployments_service_env_started", "service", "environment", "started_at"),
)

events = Table(
    "events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("deployment_id", String(128), nullable=False, index=True),
    Column("kind", String(128), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("payload", JSON, nullable=False),
    sqlite_autoincrement=True,
)

approvals = Table(
    "approvals",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("deployment_id", String(128), nullable=False, index=True),
    Column("service", String(255), nullable=False),
    Column("environment", String(255), nullable=False),
    Column("from_version", String(255)),
    Column("to_version", String(255), nullable=False),
    Column("image_digest", String(255), nullable=False),
    Column("requester", String(255), nullable=False),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("status", String(32), nullable=False, index=True),
    Column("decided_by", String(255)),
    Column("decided_at", UTCDateTime),
    Column("reason", Text, nullable=False),
    Column("channel", String(64)),
    Column("slack_channel", String(255)),
    Column("slack_ts", String(64)),
)

locks = Table(
    "locks",
    metadata,
    Column("key", String(512), primary_key=True),
    Column("holder", String(512), nullable=False),
    Column("deployment_id", String(128), nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

investigations = Table(
    "investigations",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("service", String(255), nullable=False, index=True),
    Column("environment", String(255)),
    Column("question", Text, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("window_start", UTCDateTime),
    Column("window_end", UTCDateTime),
    Column("summary", Text, nullable=False),
    Column("findings", JSON, nullable=False),
)

# The event log is append-only; on SQLite the database itself refuses to change it.
_SQLITE_APPEND_ONLY = [
    f"CREATE TRIGGER IF NOT EXISTS events_no_{op.lower()} BEFORE {op} ON events "
    f"BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END"
    for op in ("UPDATE", "DELETE")
]


def make_engine(url: str) -> Engine:
    """An engine for ``url``; on SQLite: WAL, a busy timeout, and explicit (optionally IMMEDIATE) BEGIN."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SECONDS})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Take transaction control away from pysqlite so that BEGIN is ours (see _on_begin).
        dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A write transaction takes the write lock up front, so a read-then-write inside it can never
        # fail half-way with "database is locked" when another process writes in between.
        immediate = conn.get_execution_options().get(IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def create_tables(engine: Engine) -> None:
    """Create what is missing (idempotent; serialised across processes on SQLite)."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{IMMEDIATE: True})
        with conn.begin():
            metadata.create_all(conn)
            if engine.dialect.name == "sqlite":
                for statement in _SQLITE_APPEND_ONLY:
                    conn.exec_driver_sql(statement)


def filtered(table: Table, **equal: str | None) -> Select[Any]:
    """``SELECT * FROM table`` with ``column = value`` for every value that is not None."""
    query = select(table)
    for name, value in equal.items():
        if value is not None:
            query = query.where(table.c[name] == value)
    return query


def fetch_one(conn: Connection, query: Select[Any], model: type[_R]) -> _R | None:
    row = conn.execute(query).one_or_none()
    return None if row is None else model.model_validate(row._asdict())


def fetch_all(conn: Connection, query: Select[Any], model: type[_R]) -> list[_R]:
    return [model.model_validate(row._asdict()) for row in conn.execute(query)]


class Store:
    """Connection plumbing: the engine, tables created on open, read and write transactions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine = make_engine(url)
        create_tables(self._engine)

    @classmethod
    def in_dir(cls, state_dir: Path) -> Self:
        state_dir = Path(state_dir)
        state_dir.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{state_dir / DB_FILENAME}")

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._engine.connect() as conn, conn.begin():
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._engine.connect() as conn:
            conn = conn.execution_options(**{IMMEDIATE: True})
            with conn.begin():
                yield conn
