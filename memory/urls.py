"""Database URLs: which ones runbook accepts, how it spells them, and how it shows them to people."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

__all__ = [
    "DB_FILENAME",
    "default_database_url",
    "display_url",
    "is_postgresql",
    "normalise_database_url",
    "sqlite_path",
]

DB_FILENAME = "runbook.db"
_ACCEPTED = (
    "a database URL must be sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE "
    "(postgres:// and postgresql+psycopg:// are accepted too)"
)
_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")


def normalise_database_url(url: str) -> str:
    """The URL as runbook uses it: SQLite paths made absolute, PostgreSQL through psycopg (v3).

    Raises ValueError (one sentence, password masked) for anything else.
    """
    text = url.strip()
    scheme = text.partition("://")[0].lower()
    if scheme == "sqlite":
        if text in ("sqlite://", "sqlite:///:memory:"):
            return "sqlite://"
        path = text[len("sqlite:///"):] if text.startswith("sqlite:///") else ""
        path = path.partition("?")[0]
        if not path:
            raise ValueError(f"{_ACCEPTED}, not {_masked_text(text)!r}.")
        return f"sqlite:///{os.path.abspath(path)}"
    if scheme in _POSTGRES_SCHEMES:
        try:
            parsed = make_url(text)
        except (ArgumentError, ValueError) as exc:
            raise ValueError(f"{_ACCEPTED}, and {_masked_text(text)!r} cannot be parsed.") from exc
        if not parsed.database:
            raise ValueError(f"{_ACCEPTED}: {_masked_text(text)!r} names no database.")
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(f"{_ACCEPTED}, not {_masked_text(text)!r}.")


def default_database_url(state_dir: Path) -> str:
    """Today's default: ``sqlite:///<state_dir>/runbook.db`` (absolute)."""
    return f"sqlite:///{os.path.abspath(Path(state_dir) / DB_FILENAME)}"


def sqlite_path(url: str) -> Path | None:
    """The file of a (normalised) SQLite URL; None for in-memory SQLite and for PostgreSQL."""
    if not url.startswith("sqlite:///"):
        return None
    return Path(url[len("sqlite:///"):])


def is_postgresql(url: str) -> bool:
    return url.startswith("postgresql")


def display_url(url: str) -> str:
    """What a message shows: a SQLite file's path, or the PostgreSQL URL with its password masked."""
    path = sqlite_path(url)
    if path is not None:
        return str(path)
    if url.startswith("sqlite"):
        return "an in-memory SQLite database"
    return _masked_text(url)


def _masked_text(text: str) -> str:
    try:
        parsed: URL = make_url(text)
    except (ArgumentError, ValueError):
        # Unparseable: still never show what could be a password (user:password@host).
        scheme, sep, rest = text.partition("://")
        credentials, at, host = rest.rpartition("@")
        if at and ":" in credentials:
            return f"{scheme}{sep}{credentials.partition(':')[0]}:***@{host}"
        return text
    return parsed.render_as_string(hide_password=True)
