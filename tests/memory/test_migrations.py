"""Numbered migrations recorded in the database; 0.1.0's database upgraded in place with nothing lost."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from memory import _schema, _schema_0_1
from memory.database import default_database_url, open_store
from memory.engines import dispose_engines, engine_for, make_engine
from memory.errors import StateError
from memory.migrations import MIGRATIONS, m001_initial, migrate
from memory.scratchpad import Scratchpad
from memory.sql import column_names, table_names
from tests.memory.conftest import raw_connection
from tests.memory.test_state_errors import assert_one_sentence, snapshot

FIXTURE = Path(__file__).parent / "fixtures" / "state-0.1.0"
NAMES = [m.name for m in MIGRATIONS]


def recorded(url: str) -> list[str]:
    with engine_for(url).connect() as conn:
        return sorted(conn.execute("SELECT name FROM runbook_migrations").scalars())


def test_the_list_is_numbered_in_order() -> None:
    assert NAMES[0] == "m001_initial"
    assert [name[:4] for name in NAMES] == [f"m{n:03d}" for n in range(1, len(NAMES) + 1)]
    assert {"m002_lock_owner", "m003_append_only_events_on_postgresql", "m004_documents"} <= set(NAMES)


def test_a_fresh_database_gets_every_migration_and_the_live_schema(database_url: str) -> None:
    pad = Scratchpad(database_url)
    assert recorded(database_url) == NAMES
    with engine_for(pad.url).connect() as conn:
        assert table_names(conn) >= set(_schema.TABLES)
        for table in _schema.TABLES.values():
            assert set(column_names(conn, table.name)) == set(table.columns), table.name
    assert migrate(engine_for(pad.url), pad.url) == []  # nothing left to do


def test_m001_is_exactly_the_schema_of_0_1_0(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm001.db'}")
    with engine.begin() as conn:
        m001_initial(conn)
    engine.dispose()

    def schema(path: Path) -> list[tuple[str, str, str]]:
        conn = sqlite3.connect(path)
        try:
            return sorted(conn.execute("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL"))
        finally:
            conn.close()

    assert schema(tmp_path / "m001.db") == schema(FIXTURE / "runbook.db")


def _rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(path)
    try:
        return {
            table: sorted(conn.execute(f"SELECT {', '.join(_schema_0_1.TABLES[table])} FROM {table}"))
            for table in sorted(_schema_0_1.TABLE_NAMES)
        }
    finally:
        conn.close()


def test_a_0_1_0_database_is_upgraded_in_place_with_nothing_lost(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    shutil.copy(FIXTURE / "runbook.db", state / "runbook.db")
    before = _rows(state / "runbook.db")
    assert sum(len(rows) for rows in before.values()) > 190  # the fixture is not empty

    pad = Scratchpad.in_dir(state)
    assert recorded(pad.url) == NAMES
    dispose_engines()
    assert _rows(state / "runbook.db") == before
    lock = pad.get_lock("checkout-api/production")
    assert lock is not None and lock.holder == "bob@old-laptop (pid 5639)" and lock.host is None
    with raw_connection(pad.url) as raw, pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("DELETE FROM events")

    # Opening again applies nothing and changes nothing.
    dispose_engines()
    again = snapshot(state)
    Scratchpad.in_dir(state)
    assert snapshot(state) == again


def test_a_0_1_0_shaped_postgresql_database_is_recognised(postgres_url: str, t0: datetime) -> None:
    engine = engine_for(postgres_url)
    with engine.begin() as conn:  # what 0.1.0's create_all made there: its tables, no migrations table
        m001_initial(conn)
        conn.execute(*_schema.insert(_schema.locks, dict(
            key="checkout-api/production", holder="alice@laptop (pid 1)", deployment_id="dep-1",
            acquired_at=t0, expires_at=t0)))
        conn.execute(*_schema.insert(_schema.events, dict(
            deployment_id="dep-1", kind="StepStarted", at=t0, payload={"step": "pre-checks"})))
    pad = Scratchpad(postgres_url)
    assert recorded(postgres_url) == NAMES
    lock = pad.get_lock("checkout-api/production")
    assert lock is not None and lock.holder == "alice@laptop (pid 1)" and lock.pid is None
    assert [e.payload for e in pad.events("dep-1")] == [{"step": "pre-checks"}]


def test_a_database_from_a_newer_runbook_is_refused(database_url: str) -> None:
    Scratchpad(database_url)
    with engine_for(database_url).begin() as conn:
        conn.execute(*_schema.insert(_schema.migrations_table, {"name": "m999_from_the_future",
                                                                "applied_at": datetime.now(UTC)}))
    dispose_engines()
    with pytest.raises(StateError) as caught:
        open_store(database_url)
    assert_one_sentence(str(caught.value), "m999_from_the_future")
    assert "newer runbook" in str(caught.value)


def test_part_of_0_1_0_tables_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    shutil.copy(FIXTURE / "runbook.db", state / "runbook.db")
    raw = sqlite3.connect(state / "runbook.db")
    raw.execute("PRAGMA journal_mode = WAL")  # as 0.1.0 left its files (the fixture was made single-file)
    raw.execute("DROP TABLE investigations")
    raw.commit()
    raw.close()
    before = snapshot(state)
    with pytest.raises(StateError) as caught:
        open_store(default_database_url(state))
    assert_one_sentence(str(caught.value), state / "runbook.db", "investigations")
    assert snapshot(state) == before


def test_tables_lost_after_migrating_are_refused(database_url: str) -> None:
    Scratchpad(database_url)
    with raw_connection(database_url) as raw:
        raw.execute("DROP TABLE approvals")
    dispose_engines()
    with pytest.raises(StateError) as caught:
        open_store(database_url)
    assert_one_sentence(str(caught.value), "approvals")
    assert "lost" in str(caught.value)


RACE_OPEN = """
OPEN_AFTER_GO = True

def RACE(pad, name):
    return {"deployments": len(pad.list_deployments())}
"""


def test_eight_processes_opening_a_fresh_database_at_once_all_succeed(
    database_url: str, race: Callable[[str, str, int], list[dict[str, Any]]]
) -> None:
    results = race(database_url, RACE_OPEN, 8)
    assert results == [{"deployments": 0}] * 8
    assert recorded(database_url) == NAMES  # each migration once


def test_on_postgresql_migrating_waits_for_the_advisory_lock(postgres_url: str) -> None:
    import subprocess
    import sys
    import time

    from memory.migrations import ADVISORY_LOCK
    from tests.memory.conftest import REPO_ROOT

    with raw_connection(postgres_url) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK,))  # as another process migrating
        child = subprocess.Popen(
            [sys.executable, "-c", "import sys; from memory.database import open_store; open_store(sys.argv[1])",
             postgres_url], cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
        waiting = ("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                   "AND classid = %s AND objid = %s")
        key = (ADVISORY_LOCK >> 32, ADVISORY_LOCK & 0xFFFFFFFF)
        while holder.execute(waiting, key).fetchone()[0] == 0:  # until the child queues behind our lock
            assert child.poll() is None, f"migrated without waiting for the lock: {child.stderr.read() if child.stderr else ''}"
            time.sleep(0.01)
        assert recorded_or_none(postgres_url) is None  # nothing made while the lock is held
        holder.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK,))
        _out, err = child.communicate()
    assert child.returncode == 0, err
    assert recorded(postgres_url) == NAMES


def recorded_or_none(url: str) -> list[str] | None:
    with engine_for(url).connect() as conn:
        if "runbook_migrations" not in table_names(conn):
            return None
    return recorded(url)
