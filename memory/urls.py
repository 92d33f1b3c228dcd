"""Database URLs: which ones runbook accepts, how it spells them, and how it shows them to people."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, unquote

__all__ = [
    "DB_FILENAME",
    "default_database_url",
    "display_url",
    "is_postgresql",
    "normalise_database_url",
    "psycopg_arguments",
    "sqlite_path",
]

DB_FILENAME = "runbook.db"
_ACCEPTED = (
    "a database URL must be sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE "
    "(postgres:// and postgresql+psycopg:// are accepted too)"
)
_POSTGRES_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
_DRIVER = "postgresql+psycopg"

# scheme://[user[:password]@][host or [ipv6]][:port][/database][?query]
_URL = re.compile(
    r"(?P<scheme>[\w+]+)://"
    r"(?:(?P<username>[^:/]*)(?::(?P<password>[^@]*))?@)?"
    r"(?:(?:\[(?P<ipv6host>[^/?]+)\]|(?P<host>[^/:?]+))?(?::(?P<port>[^/?]*))?)?"
    r"(?:/(?P<database>[^?]*))?"
    r"(?:\?(?P<query>.*))?"
)


@dataclass(frozen=True)
class _Parts:
    scheme: str
    username: str | None
    password: str | None
    host: str | None
    port: int | None
    database: str | None
    query: tuple[tuple[str, str], ...]

    def render(self, *, hide_password: bool, scheme: str | None = None) -> str:
        text = f"{scheme or self.scheme}://"
        if self.username is not None:
            text += quote(self.username, safe=" +")
            if self.password is not None:
                text += ":" + ("***" if hide_password else quote(self.password, safe=" +"))
            text += "@"
        if self.host is not None:
            text += f"[{self.host}]" if ":" in self.host else self.host
        if self.port is not None:
            text += f":{self.port}"
        if self.database is not None:
            text += "/" + quote(self.database, safe=" +/")
        if self.query:
            text += "?" + "&".join(f"{quote_plus(key)}={quote_plus(value)}"
                                   for key, value in sorted(self.query, key=lambda item: item[0]))
        return text


def _parse(text: str) -> _Parts:
    """The parts of a server URL (user, password and database %-decoded); ValueError if it has none."""
    match = _URL.match(text)
    if match is None:
        raise ValueError("not a URL")
    parts = match.groupdict()
    port = parts["port"]
    return _Parts(
        scheme=parts["scheme"],
        username=None if parts["username"] is None else unquote(parts["username"]),
        password=None if parts["password"] is None else unquote(parts["password"]),
        host=parts["host"] or parts["ipv6host"],
        port=int(port) if port else None,
        database=None if parts["database"] is None else unquote(parts["database"]),
        query=tuple(parse_qsl(parts["query"])) if parts["query"] is not None else (),
    )


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
            parsed = _parse(text)
        except ValueError as exc:
            raise ValueError(f"{_ACCEPTED}, and {_masked_text(text)!r} cannot be parsed.") from exc
        if not parsed.database:
            raise ValueError(f"{_ACCEPTED}: {_masked_text(text)!r} names no database.")
        return parsed.render(hide_password=False, scheme=_DRIVER)
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


def psycopg_arguments(url: str) -> dict[str, Any]:
    """A (normalised) PostgreSQL URL as ``psycopg.connect`` keyword arguments: host, port, user,
    password, dbname, and the query's parameters (``?sslmode=require&host=/run/postgresql``)."""
    parts = _parse(url)
    arguments: dict[str, Any] = {}
    for name, value in (("host", parts.host), ("port", parts.port), ("user", parts.username),
                        ("password", parts.password), ("dbname", parts.database)):
        if value is not None:
            arguments[name] = value
    arguments.update(dict(parts.query))
    return arguments


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
        parsed = _parse(text)
    except ValueError:
        # Unparseable: still never show what could be a password (user:password@host).
        scheme, sep, rest = text.partition("://")
        credentials, at, host = rest.rpartition("@")
        if at and ":" in credentials:
            return f"{scheme}{sep}{credentials.partition(':')[0]}:***@{host}"
        return text
    return parsed.render(hide_password=True)
