"""The sandbox's simulated fleet as one shared JSON document in the store, with a version counter.

Every runbook process pointed at the same database sees one fleet. The document is opaque text here
(the sandbox owns its shape); what the store guarantees is that a read-modify-write is atomic and
serialised across processes (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory lock and
``SELECT ... FOR UPDATE``), and that the version grows by one with every change, so a reader can skip
re-parsing a document it already has (``fleet_version()`` is one small query).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from memory.sql import Connection
from memory.store import Store

__all__ = ["FLEET_DOCUMENT", "FleetDocument", "FleetDraft"]

FLEET_DOCUMENT = "sandbox-fleet"
_FLEET_LOCK = 0x72756E626F6F6C  # advisory lock key of the fleet document on PostgreSQL
_READ = 'SELECT "version", "body" FROM runbook_documents WHERE "name" = :name'


@dataclass
class FleetDraft:
    """The document as it is inside ``fleet_transaction()``: set ``text`` to write a new one."""

    version: int | None  # None: there is no document yet
    text: str | None
    _original: str | None = field(default=None, repr=False)

    @property
    def changed(self) -> bool:
        return self.text is not None and self.text != self._original


class FleetDocument(Store):
    """The fleet document's methods, mixed into the Scratchpad (same engine, same URL)."""

    def fleet_version(self) -> int | None:
        """The document's version (None: no document yet). Cheap: no document text is read."""
        with self._read() as conn:
            value = conn.execute('SELECT "version" FROM runbook_documents WHERE "name" = :name',
                                 {"name": FLEET_DOCUMENT}).scalar()
        return None if value is None else int(value)

    def read_fleet(self) -> tuple[int, str] | None:
        """(version, text) of the document, or None when there is none yet."""
        with self._read() as conn:
            row = conn.execute(_READ, {"name": FLEET_DOCUMENT}).first()
        return None if row is None else (int(row["version"]), str(row["body"]))

    @contextmanager
    def fleet_transaction(self) -> Iterator[FleetDraft]:
        """Read-modify-write: the draft holds the current text; a new ``text`` is written when the block
        ends without error, atomically, with the version bumped. Other writers wait meanwhile."""
        with self._write() as conn:
            draft = self._locked_draft(conn)
            yield draft
            if draft.changed:
                assert draft.text is not None
                self._store_text(conn, draft.version, draft.text)

    def create_fleet_if_missing(self, make: Callable[[], str]) -> bool:
        """Write ``make()`` as the document unless there is one; whether it was created. ``make`` runs
        only when needed, and of racing processes only one writes."""
        if self.fleet_version() is not None:
            return False
        with self._write() as conn:
            if self._locked_draft(conn).version is not None:
                return False
            self._store_text(conn, None, make())
        return True

    def replace_fleet(self, text: str) -> int:
        """Overwrite the document (seeding, reset); returns its new version."""
        with self._write() as conn:
            draft = self._locked_draft(conn)
            return self._store_text(conn, draft.version, text)

    def _locked_draft(self, conn: Connection) -> FleetDraft:
        query = _READ
        if conn.dialect == "postgresql":
            # The advisory lock also serialises writers while there is no row yet to lock.
            conn.execute("SELECT pg_advisory_xact_lock(:key)", {"key": _FLEET_LOCK})
            query += " FOR UPDATE"
        row = conn.execute(query, {"name": FLEET_DOCUMENT}).first()
        if row is None:
            return FleetDraft(version=None, text=None)
        return FleetDraft(version=int(row["version"]), text=str(row["body"]), _original=str(row["body"]))

    @staticmethod
    def _store_text(conn: Connection, version: int | None, body: str) -> int:
        if version is None:
            conn.execute('INSERT INTO runbook_documents ("name", "version", "body") VALUES (:name, 1, :body)',
                         {"name": FLEET_DOCUMENT, "body": body})
            return 1
        conn.execute('UPDATE runbook_documents SET "version" = :version, "body" = :body WHERE "name" = :name',
                     {"name": FLEET_DOCUMENT, "version": version + 1, "body": body})
        return version + 1
