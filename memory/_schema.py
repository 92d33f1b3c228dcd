"""The live scratchpad tables (their shape after every migration) and the query helpers built on them.

The schema itself is made by ``memory.migrations``; these descriptions say which columns each table
has and which of them hold datetimes or JSON, so that rows come back as Python values
(``memory._types.decode``) and statements can be built from column names that are ours, never a
caller's. Identifiers are always double-quoted (``key`` is a keyword).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel

from memory._types import DATETIME, INTEGER, JSON, TEXT, Kind, decode
from memory.sql import Connection
from memory.urls import DB_FILENAME

__all__ = [
    "DB_FILENAME",
    "TABLES",
    "Table",
    "approvals",
    "deployments",
    "documents",
    "events",
    "fetch_all",
    "fetch_one",
    "insert",
    "investigations",
    "locks",
    "migrations_table",
    "select",
]

_R = TypeVar("_R", bound=BaseModel)


@dataclass(frozen=True)
class Table:
    name: str
    columns: Mapping[str, Kind]  # in the table's order

    def column(self, name: str) -> str:
        """``name`` double-quoted, after checking it is one of this table's columns."""
        if name not in self.columns:
            raise KeyError(f"{self.name} has no column {name!r}")
        return f'"{name}"'

    def decode(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """A row as Python values: datetimes aware UTC, JSON parsed."""
        return {name: decode(self.columns.get(name, TEXT), value) for name, value in row.items()}


def _table(name: str, *columns: tuple[str, Kind]) -> Table:
    return Table(name, dict(columns))


deployments = _table(
    "deployments",
    ("id", TEXT), ("service", TEXT), ("environment", TEXT), ("from_version", TEXT), ("to_version", TEXT),
    ("image_digest", TEXT), ("requester", TEXT), ("approver", TEXT), ("started_at", DATETIME),
    ("ended_at", DATETIME), ("status", TEXT), ("from_revision", INTEGER), ("to_revision", INTEGER),
    ("metrics_before", JSON), ("metrics_after", JSON), ("kind", TEXT), ("detail", TEXT),
    ("requester_via", TEXT),  # m005
)

events = _table(
    "events",
    ("seq", INTEGER), ("deployment_id", TEXT), ("kind", TEXT), ("at", DATETIME), ("payload", JSON),
)

approvals = _table(
    "approvals",
    ("id", TEXT), ("deployment_id", TEXT), ("service", TEXT), ("environment", TEXT), ("from_version", TEXT),
    ("to_version", TEXT), ("image_digest", TEXT), ("requester", TEXT), ("requested_at", DATETIME),
    ("expires_at", DATETIME), ("status", TEXT), ("decided_by", TEXT), ("decided_at", DATETIME),
    ("reason", TEXT), ("channel", TEXT), ("slack_channel", TEXT), ("slack_ts", TEXT),
    ("requester_via", TEXT), ("decided_via", TEXT),  # m005
)

locks = _table(
    "locks",
    ("key", TEXT), ("holder", TEXT), ("deployment_id", TEXT), ("acquired_at", DATETIME), ("expires_at", DATETIME),
    # Where the holder runs (m002): a dead pid on the same host (and boot) means a dead deploy.
    ("host", TEXT), ("pid", INTEGER), ("boot_id", TEXT),
)

investigations = _table(
    "investigations",
    ("id", TEXT), ("service", TEXT), ("environment", TEXT), ("question", TEXT), ("started_at", DATETIME),
    ("window_start", DATETIME), ("window_end", DATETIME), ("summary", TEXT), ("findings", JSON),
)

migrations_table = _table("runbook_migrations", ("name", TEXT), ("applied_at", DATETIME))

# Shared JSON documents with a version counter (m004): today the sandbox's simulated fleet.
documents = _table("runbook_documents", ("name", TEXT), ("version", INTEGER), ("body", TEXT))

TABLES = {table.name: table for table in
          (deployments, events, approvals, locks, investigations, migrations_table, documents)}


# -- statements ------------------------------------------------------------------------------------

def insert(table: Table, values: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``INSERT INTO table (columns) VALUES (:columns)`` for the given values."""
    names = list(values)
    columns = ", ".join(table.column(name) for name in names)
    placeholders = ", ".join(f":{name}" for name in names)
    return f'INSERT INTO "{table.name}" ({columns}) VALUES ({placeholders})', dict(values)


def select(
    table: Table,
    where: Mapping[str, Any] | None = None,
    *,
    order_by: Iterable[str] = (),
    limit: int | None = None,
) -> tuple[str, dict[str, Any]]:
    """``SELECT * FROM table`` with ``column = value`` for every ``where`` value that is not None,
    ordered by ``order_by`` (a leading ``-`` means descending) and limited."""
    params = {name: value for name, value in (where or {}).items() if value is not None}
    sql = f'SELECT * FROM "{table.name}"'
    if params:
        sql += " WHERE " + " AND ".join(f"{table.column(name)} = :{name}" for name in params)
    order = [f"{table.column(key[1:])} DESC" if key.startswith("-") else table.column(key) for key in order_by]
    if order:
        sql += " ORDER BY " + ", ".join(order)
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = int(limit)
    return sql, params


def fetch_one(conn: Connection, table: Table, statement: tuple[str, Mapping[str, Any]], model: type[_R]) -> _R | None:
    row = conn.execute(*statement).first()
    return None if row is None else model.model_validate(table.decode(row))


def fetch_all(conn: Connection, table: Table, statement: tuple[str, Mapping[str, Any]], model: type[_R]) -> list[_R]:
    return [model.model_validate(table.decode(row)) for row in conn.execute(*statement).mappings()]
