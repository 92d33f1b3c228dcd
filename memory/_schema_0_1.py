"""The schema of runbook 0.1.0, frozen: what migration m001 creates, and what it recognises in a database
written by 0.1.0 (tables present, no migrations table). Never edit these tables: change the schema with a
new migration, and the live tables in ``memory._schema``.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, MetaData, String, Table, Text

from memory._types import UTCDateTime

__all__ = ["SQLITE_APPEND_ONLY", "TABLE_NAMES", "metadata"]

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
SQLITE_APPEND_ONLY = [
    f"CREATE TRIGGER IF NOT EXISTS events_no_{op.lower()} BEFORE {op} ON events "
    f"BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END"
    for op in ("UPDATE", "DELETE")
]

TABLE_NAMES = frozenset(metadata.tables)
