"""Connection plumbing of the scratchpad: the URL, the process's engine (``memory.sql``), the schema, and
transactions.

Every read and write runs through ``_read``/``_write``, which turn a failure of the state (cannot open,
damaged, read-only, full, unreachable) into one StateError sentence naming the file or URL. A failed
write transaction is rolled back: nothing is left half-written.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from memory.engines import engine_for, is_ready, is_shared, mark_ready
from memory.failures import translated
from memory.migrations import migrate
from memory.sql import Connection
from memory.sqlite_files import prepare_sqlite_location
from memory.urls import default_database_url, display_url, normalise_database_url, sqlite_path

__all__ = ["Store"]


class Store:
    """Opened on a URL (SQLite or PostgreSQL); the schema is migrated on open (once per process)."""

    def __init__(self, url: str) -> None:
        self.url = normalise_database_url(url)
        path = sqlite_path(self.url)
        if path is not None:
            prepare_sqlite_location(path)
        self._engine = engine_for(self.url)
        self._owns_engine = not is_shared(self.url)
        if self._owns_engine or not is_ready(self.url) or (path is not None and not path.exists()):
            migrate(self._engine, self.url)
            mark_ready(self.url)

    @classmethod
    def in_dir(cls, state_dir: Path) -> Self:
        """The default database of a state folder: ``<state_dir>/runbook.db``."""
        return cls(default_database_url(Path(state_dir)))

    @property
    def display_url(self) -> str:
        """The file (SQLite) or the URL with its password masked (PostgreSQL), for messages."""
        return display_url(self.url)

    @property
    def dialect(self) -> str:
        return self._engine.dialect

    def close(self) -> None:
        """Done with this store. The engine is the process's, shared by URL: it stays open for the next
        store on the same URL (``memory.engines.dispose_engines`` closes them all)."""
        if self._owns_engine:
            self._engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """A transaction for reading (SQLite: a deferred BEGIN, one consistent snapshot)."""
        with translated(self.url), self._engine.begin() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction. On SQLite it takes the write lock up front (``BEGIN IMMEDIATE``), so a
        read-then-write inside it can never fail half-way with "database is locked"."""
        with translated(self.url), self._engine.begin(immediate=True) as conn:
            yield conn
