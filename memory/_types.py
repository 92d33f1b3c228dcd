"""How values go into the database and come back out, on each dialect (the store's row mapping).

Binding is by Python type, so hand-written statements need no column metadata:

- an aware ``datetime`` is stored as UTC. SQLite keeps no zone: there it is naive-UTC text,
  ``YYYY-MM-DD HH:MM:SS.ffffff`` (always six digits of microseconds, so text order is time order, as
  runbook has always written it); PostgreSQL gets it as ``timestamptz``. A naive datetime is an error.
- a ``dict`` or ``list`` is JSON: text on SQLite, psycopg's ``Json`` on PostgreSQL (a ``json`` column).
- an ``Enum`` is its value; everything else goes to the driver as it is.

Reading needs the column's kind (``DATETIME``, ``JSON``; anything else is returned as the driver gives
it): SQLite hands back text for both, PostgreSQL an aware datetime and parsed JSON.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Literal

from memory.records import as_utc

__all__ = ["DATETIME", "INTEGER", "JSON", "TEXT", "Dialect", "Kind", "decode", "encode", "sqlite_datetime"]

Dialect = Literal["sqlite", "postgresql"]
Kind = Literal["text", "integer", "datetime", "json"]
TEXT: Kind = "text"
INTEGER: Kind = "integer"
DATETIME: Kind = "datetime"
JSON: Kind = "json"


def sqlite_datetime(value: datetime) -> str:
    """The text SQLite rows hold for ``value``: naive UTC with microseconds, e.g. ``2026-11-26 15:10:00.000000``."""
    u = as_utc(value)
    return (f"{u.year:04d}-{u.month:02d}-{u.day:02d} "
            f"{u.hour:02d}:{u.minute:02d}:{u.second:02d}.{u.microsecond:06d}")


def encode(value: Any, dialect: Dialect) -> Any:
    """``value`` as the dialect's driver should receive it (see the module's docstring)."""
    if value is None or isinstance(value, (str, int, float)) and not isinstance(value, Enum):
        return value
    if isinstance(value, datetime):
        return sqlite_datetime(value) if dialect == "sqlite" else as_utc(value)
    if isinstance(value, (dict, list)):
        if dialect == "sqlite":
            return json.dumps(value)
        from psycopg.types.json import Json

        return Json(value)
    if isinstance(value, Enum):
        return value.value
    return value


def decode(kind: Kind, value: Any) -> Any:
    """A column of ``kind`` as read from either driver, made Python: aware UTC datetimes, parsed JSON."""
    if value is None:
        return None
    if kind == DATETIME:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if not isinstance(value, datetime):
            raise TypeError(f"not a datetime in a datetime column: {value!r}")
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if kind == JSON and isinstance(value, (str, bytes, bytearray)):
        return json.loads(value)
    return value
