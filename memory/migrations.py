"""The schema as a numbered list of migrations, recorded in ``runbook_migrations`` (name, applied_at).

Opening a store applies what is missing, in order, in one transaction, under a lock that spans
processes (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: ``pg_advisory_xact_lock``), so any number of
processes opening a fresh database at once all succeed and the schema is made once. A database
written by runbook 0.1.0 (its tables, no migrations table) is recognised and upgraded in place.

A new migration is one new ``@migration`` function at the end; never edit one that has shipped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from memory import _schema_0_1
from memory._schema import insert, migrations_table
from memory.errors import StateError
from memory.failures import translated
from memory.sql import Connection, Engine, table_names
from memory.urls import display_url

__all__ = ["MIGRATIONS", "Migration", "migrate", "pending_migrations"]

ADVISORY_LOCK = 0x72756E626F6F6B  # "runbook": the key every runbook process locks while migrating
# Tables LangGraph's savers make in the same database (SQLite: checkpoints/writes; PostgreSQL: the rest).
CHECKPOINT_TABLES = frozenset({"checkpoints", "writes", "checkpoint_blobs", "checkpoint_writes",
                               "checkpoint_migrations"})
# The table that records them, as 0.1.0's successors have always made it.
_CREATE_MIGRATIONS_TABLE = {
    "sqlite": "CREATE TABLE runbook_migrations (\n\tname VARCHAR(255) NOT NULL, \n\tapplied_at DATETIME NOT NULL, "
              "\n\tPRIMARY KEY (name)\n)",
    "postgresql": "CREATE TABLE runbook_migrations (\n\tname VARCHAR(255) NOT NULL, \n\tapplied_at TIMESTAMP WITH "
                  "TIME ZONE NOT NULL, \n\tPRIMARY KEY (name)\n)",
}


@dataclass(frozen=True)
class Migration:
    name: str
    apply: Callable[[Connection], None]


MIGRATIONS: list[Migration] = []


def migration(fn: Callable[[Connection], None]) -> Callable[[Connection], None]:
    MIGRATIONS.append(Migration(fn.__name__, fn))
    return fn


def _on_postgresql(conn: Connection) -> bool:
    return conn.dialect == "postgresql"


@migration
def m001_initial(conn: Connection) -> None:
    """The schema of runbook 0.1.0: deployments, events (append-only on SQLite), approvals, locks, investigations."""
    for statement in _schema_0_1.create_statements(conn.dialect):
        conn.execute(statement)
    if conn.dialect == "sqlite":
        for statement in _schema_0_1.SQLITE_APPEND_ONLY:
            conn.execute(statement)


@migration
def m002_lock_owner(conn: Connection) -> None:
    """Where a lock's holder runs, so that a dead deploy on the same host is seen at once."""
    for column, kind in (("host", "VARCHAR(255)"), ("pid", "INTEGER"), ("boot_id", "VARCHAR(255)")):
        conn.execute(f"ALTER TABLE locks ADD COLUMN {column} {kind}")


@migration
def m003_append_only_events_on_postgresql(conn: Connection) -> None:
    """PostgreSQL refuses UPDATE, DELETE and TRUNCATE of the event log, as SQLite's triggers do since m001."""
    if not _on_postgresql(conn):
        return
    conn.execute(
        "CREATE OR REPLACE FUNCTION runbook_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION 'the event log is append-only' USING ERRCODE = 'restrict_violation'; END $$"
    )
    for op in ("UPDATE", "DELETE", "TRUNCATE"):
        conn.execute(
            f"CREATE TRIGGER events_no_{op.lower()} BEFORE {op} ON events "
            f"FOR EACH STATEMENT EXECUTE FUNCTION runbook_events_append_only()"
        )


@migration
def m004_documents(conn: Connection) -> None:
    """Shared JSON documents with a version counter; the first is the sandbox's simulated fleet."""
    conn.execute("CREATE TABLE runbook_documents (\n\tname VARCHAR(128) NOT NULL, \n\tversion INTEGER NOT NULL, "
                 "\n\tbody TEXT NOT NULL, \n\tPRIMARY KEY (name)\n)")


@migration
def m005_identity_provenance(conn: Connection) -> None:
    """How each identity was established (os, aws, simulated, slack, mcp), beside the name."""
    for table, column in (("deployments", "requester_via"), ("approvals", "requester_via"),
                          ("approvals", "decided_via")):
        conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} VARCHAR(32)")


_KNOWN = {m.name for m in MIGRATIONS}


def pending_migrations(engine: Engine, url: str) -> list[str]:
    """Names of the migrations the database still needs (a read: works on a read-only database)."""
    with translated(url), engine.begin() as conn:
        tables = table_names(conn)
        if migrations_table.name not in tables:
            return [m.name for m in MIGRATIONS]
        applied = _recorded(conn)
    _refuse_newer(applied, url)
    pending = [m.name for m in MIGRATIONS if m.name not in applied]
    if not pending:
        _refuse_lost(tables, applied, url)
    return pending


def migrate(engine: Engine, url: str) -> list[str]:
    """Apply the pending migrations; returns their names (empty when the schema was up to date)."""
    if not pending_migrations(engine, url):
        return []
    done: list[str] = []
    with translated(url), engine.begin(immediate=True) as conn:
        if _on_postgresql(conn):
            conn.execute("SELECT pg_advisory_xact_lock(:key)", {"key": ADVISORY_LOCK})
        applied = _applied(conn, url)
        for step in MIGRATIONS:
            if step.name in applied:
                continue
            step.apply(conn)
            _record(conn, step.name)
            done.append(step.name)
    return done


def _recorded(conn: Connection) -> set[str]:
    return {str(name) for name in conn.execute('SELECT name FROM "runbook_migrations"').scalars()}


def _record(conn: Connection, name: str) -> None:
    conn.execute(*insert(migrations_table, {"name": name, "applied_at": datetime.now(UTC)}))


def _applied(conn: Connection, url: str) -> set[str]:
    """What the database has (inside the migration lock), recognising 0.1.0 and refusing what is not ours."""
    tables = table_names(conn)
    where = display_url(url)
    if migrations_table.name in tables:
        applied = _recorded(conn)
        _refuse_newer(applied, url)
        _refuse_lost(tables, applied, url)
        return applied
    ours = _schema_0_1.TABLE_NAMES & tables
    if ours and ours != _schema_0_1.TABLE_NAMES:
        missing = ", ".join(sorted(_schema_0_1.TABLE_NAMES - ours))
        raise StateError(
            f"{where} holds only part of runbook's tables ({missing} missing): restore it from a backup, "
            f"or point database_url at another database."
        )
    if not ours and tables & (CHECKPOINT_TABLES | {"runbook_documents"}):
        raise StateError(
            f"{where} holds runbook checkpoints but not its deployment history (no scratchpad tables): "
            f"restore the history from a backup, or move the file aside to start a new one."
        )
    conn.execute(_CREATE_MIGRATIONS_TABLE[conn.dialect])
    if ours:  # written by runbook 0.1.0: m001 is what is there
        _record(conn, "m001_initial")
        return {"m001_initial"}
    return set()


def _refuse_lost(tables: set[str], applied: set[str], url: str) -> None:
    expected = set(_schema_0_1.TABLE_NAMES) if "m001_initial" in applied else set()
    if "m004_documents" in applied:
        expected.add("runbook_documents")
    missing = sorted(expected - tables)
    if missing:
        raise StateError(
            f"{display_url(url)} has lost runbook tables ({', '.join(missing)}): restore it from a backup, "
            f"or point database_url at another database."
        )


def _refuse_newer(applied: set[str], url: str) -> None:
    unknown = sorted(applied - _KNOWN)
    if unknown:
        raise StateError(
            f"{display_url(url)} was upgraded by a newer runbook (migration {unknown[0]}): upgrade runbook "
            f"to use it."
        )
