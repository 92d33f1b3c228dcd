"""The schema of runbook 0.1.0, frozen: what migration m001 creates, and what it recognises in a database
written by 0.1.0 (tables present, no migrations table). Never edit these tables: change the schema with a
new migration, and the live tables in ``memory._schema``.

The statements are the very text 0.1.0 wrote into ``sqlite_master`` (and sent to PostgreSQL): a
database made by m001 is indistinguishable from one 0.1.0 made.
"""

from __future__ import annotations

from memory._types import DATETIME, INTEGER, JSON, TEXT, Dialect, Kind

__all__ = ["SQLITE_APPEND_ONLY", "TABLES", "TABLE_NAMES", "create_statements"]

_NULL, _NOT_NULL = True, False
# (column, SQL type or kind, nullable), the primary key first.
_Column = tuple[str, "str | Kind", bool]

_DEPLOYMENTS: list[_Column] = [
    ("id", "VARCHAR(128)", _NOT_NULL), ("service", "VARCHAR(255)", _NOT_NULL),
    ("environment", "VARCHAR(255)", _NOT_NULL), ("from_version", "VARCHAR(255)", _NULL),
    ("to_version", "VARCHAR(255)", _NOT_NULL), ("image_digest", "VARCHAR(255)", _NULL),
    ("requester", "VARCHAR(255)", _NOT_NULL), ("approver", "VARCHAR(255)", _NULL),
    ("started_at", DATETIME, _NOT_NULL), ("ended_at", DATETIME, _NULL), ("status", "VARCHAR(64)", _NOT_NULL),
    ("from_revision", INTEGER, _NULL), ("to_revision", INTEGER, _NULL), ("metrics_before", JSON, _NOT_NULL),
    ("metrics_after", JSON, _NOT_NULL), ("kind", "VARCHAR(32)", _NOT_NULL), ("detail", TEXT, _NOT_NULL),
]
_EVENTS: list[_Column] = [
    ("seq", "SERIAL", _NOT_NULL), ("deployment_id", "VARCHAR(128)", _NOT_NULL), ("kind", "VARCHAR(128)", _NOT_NULL),
    ("at", DATETIME, _NOT_NULL), ("payload", JSON, _NOT_NULL),
]
_APPROVALS: list[_Column] = [
    ("id", "VARCHAR(128)", _NOT_NULL), ("deployment_id", "VARCHAR(128)", _NOT_NULL),
    ("service", "VARCHAR(255)", _NOT_NULL), ("environment", "VARCHAR(255)", _NOT_NULL),
    ("from_version", "VARCHAR(255)", _NULL), ("to_version", "VARCHAR(255)", _NOT_NULL),
    ("image_digest", "VARCHAR(255)", _NOT_NULL), ("requester", "VARCHAR(255)", _NOT_NULL),
    ("requested_at", DATETIME, _NOT_NULL), ("expires_at", DATETIME, _NOT_NULL), ("status", "VARCHAR(32)", _NOT_NULL),
    ("decided_by", "VARCHAR(255)", _NULL), ("decided_at", DATETIME, _NULL), ("reason", TEXT, _NOT_NULL),
    ("channel", "VARCHAR(64)", _NULL), ("slack_channel", "VARCHAR(255)", _NULL), ("slack_ts", "VARCHAR(64)", _NULL),
]
_LOCKS: list[_Column] = [
    ("key", "VARCHAR(512)", _NOT_NULL), ("holder", "VARCHAR(512)", _NOT_NULL),
    ("deployment_id", "VARCHAR(128)", _NOT_NULL), ("acquired_at", DATETIME, _NOT_NULL),
    ("expires_at", DATETIME, _NOT_NULL),
]
_INVESTIGATIONS: list[_Column] = [
    ("id", "VARCHAR(128)", _NOT_NULL), ("service", "VARCHAR(255)", _NOT_NULL), ("environment", "VARCHAR(255)", _NULL),
    ("question", TEXT, _NOT_NULL), ("started_at", DATETIME, _NOT_NULL), ("window_start", DATETIME, _NULL),
    ("window_end", DATETIME, _NULL), ("summary", TEXT, _NOT_NULL), ("findings", JSON, _NOT_NULL),
]

# In the order 0.1.0 created them, each with its indexes (name, columns).
_TABLES: dict[str, tuple[list[_Column], list[tuple[str, str]]]] = {
    "approvals": (_APPROVALS, [("ix_approvals_deployment_id", "deployment_id"), ("ix_approvals_status", "status")]),
    "deployments": (_DEPLOYMENTS, [("ix_deployments_service_env_started", "service, environment, started_at")]),
    "events": (_EVENTS, [("ix_events_deployment_id", "deployment_id")]),
    "investigations": (_INVESTIGATIONS, [("ix_investigations_service", "service")]),
    "locks": (_LOCKS, []),
}

TABLES: dict[str, list[str]] = {name: [column for column, _type, _null in columns]
                                for name, (columns, _indexes) in _TABLES.items()}
TABLE_NAMES = frozenset(_TABLES)

# The event log is append-only; on SQLite the database itself refuses to change it.
SQLITE_APPEND_ONLY = [
    f"CREATE TRIGGER IF NOT EXISTS events_no_{op.lower()} BEFORE {op} ON events "
    f"BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END"
    for op in ("UPDATE", "DELETE")
]


def _sql_type(kind: str, dialect: Dialect) -> str:
    if kind == DATETIME:
        return "DATETIME" if dialect == "sqlite" else "TIMESTAMP WITH TIME ZONE"
    names: dict[str, str] = {INTEGER: "INTEGER", JSON: "JSON", TEXT: "TEXT"}
    return names.get(kind, kind)


def _create_table(name: str, columns: list[_Column], dialect: Dialect) -> str:
    def spelled(column: str) -> str:
        return '"key"' if column == "key" and dialect == "sqlite" else column  # a keyword to SQLite

    lines = []
    for column, kind, nullable in columns:
        if kind == "SERIAL":  # the event log's seq; on SQLite AUTOINCREMENT, so a seq is never reused
            lines.append("seq INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT" if dialect == "sqlite"
                         else "seq SERIAL NOT NULL")
        else:
            lines.append(f"{spelled(column)} {_sql_type(kind, dialect)}{'' if nullable else ' NOT NULL'}")
    if not (dialect == "sqlite" and columns[0][1] == "SERIAL"):
        lines.append(f"PRIMARY KEY ({spelled(columns[0][0])})")
    return f"CREATE TABLE {name} (\n\t" + ", \n\t".join(lines) + "\n)"


def create_statements(dialect: Dialect) -> list[str]:
    """The statements of 0.1.0's ``create_all`` on ``dialect``: each table, then its indexes."""
    statements = []
    for name, (columns, indexes) in _TABLES.items():
        statements.append(_create_table(name, columns, dialect))
        statements.extend(f"CREATE INDEX {index} ON {name} ({on})" for index, on in indexes)
    return statements
