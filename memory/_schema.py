"""The live scratchpad tables (SQLAlchemy Core, the shape after every migration) and query helpers.

The schema itself is made by ``memory.migrations``; these tables describe it for queries.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import JSON, Column, Connection, Index, Integer, MetaData, Select, String, Table, Text, select

from memory._types import UTCDateTime
from memory.urls import DB_FILENAME

__all__ = [
    "DB_FILENAME",
    "approvals",
    "deployments",
    "documents",
    "events",
    "fetch_all",
    "fetch_one",
    "filtered",
    "investigations",
    "locks",
    "metadata",
    "migrations_table",
]

_R = TypeVar("_R", bound=BaseModel)

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
    Column("requester_via", String(32)),
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
    Column("requester_via", String(32)),
    Column("requested_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("status", String(32), nullable=False, index=True),
    Column("decided_by", String(255)),
    Column("decided_via", String(32)),
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
    # Where the holder runs (m002): a dead pid on the same host (and boot) means a dead deploy.
    Column("host", String(255)),
    Column("pid", Integer),
    Column("boot_id", String(255)),
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

migrations_table = Table(
    "runbook_migrations",
    metadata,
    Column("name", String(255), primary_key=True),
    Column("applied_at", UTCDateTime, nullable=False),
)

# Shared JSON documents with a version counter (m004): today the sandbox's simulated fleet.
documents = Table(
    "runbook_documents",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("body", Text, nullable=False),
)


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
