"""A database written by the store when it was built on SQLAlchemy opens unchanged, reads back exactly,
and today's store writes the very same rows (datetime text, JSON text, the schema's own text)."""

from __future__ import annotations

import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from memory.database import default_database_url, open_store
from memory.scratchpad import Scratchpad
from tests.memory.sqlalchemy_era import FLEET, T0, write_history
from tests.memory.test_state_errors import snapshot

FIXTURE = Path(__file__).parent / "fixtures" / "state-sqlalchemy"
TABLES = ("deployments", "events", "approvals", "locks", "investigations", "runbook_documents")


@pytest.fixture
def old(tmp_path: Path) -> Path:
    folder = tmp_path / "old"
    folder.mkdir()
    shutil.copy(FIXTURE / "runbook.db", folder / "runbook.db")
    return folder


def everything(pad: Scratchpad) -> dict[str, Any]:
    deployments = pad.list_deployments(limit=100)
    return {
        "deployments": deployments,
        "events": {d.id: pad.events(d.id) for d in deployments},
        "approvals": [pad.get_approval("apr-1"), pad.get_approval("apr-2")],
        "pending": pad.pending_approvals(),
        "latest": [pad.approval_for_deployment(d.id) for d in deployments],
        "locks": [pad.get_lock("checkout-api/production"), pad.get_lock("search-api/staging")],
        "investigations": pad.list_investigations(limit=100),
        "fleet": pad.read_fleet(),
    }


def raw(path: Path, query: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return sorted(conn.execute(query), key=repr)
    finally:
        conn.close()


def test_it_opens_unchanged_and_reads_back_exactly(old: Path) -> None:
    before = snapshot(old)
    with open_store(default_database_url(old)) as pad:
        found = everything(pad)
    assert snapshot(old) == before  # nothing to migrate, nothing written

    [rollback, deploy, search] = found["deployments"]  # newest first
    assert (deploy.id, rollback.id, search.id) == ("dep-a1", "dep-b2", "dep-c3")
    assert deploy.started_at == T0 and deploy.started_at.tzinfo == UTC
    assert deploy.ended_at == T0 + timedelta(minutes=7, microseconds=1)
    assert search.started_at == datetime(2026, 1, 2, 1, 4, 5, tzinfo=UTC)
    assert deploy.metrics_before == {"error_rate_percent": 0.5408146019942538, "p99_ms": None}
    assert (deploy.status, deploy.detail, deploy.to_revision, rollback.kind) == (
        "succeeded", "all checks passed ✓", 42, "rollback")
    assert [e.seq for e in found["events"]["dep-a1"]] == [1, 3]
    assert found["events"]["dep-a1"][1].at == T0 + timedelta(seconds=2, microseconds=14)
    assert found["events"]["dep-b2"][0].payload == {"n": 1, "nested": {"ok": [1, 2.5, None, True]},
                                                    "text": "naïve café"}
    approved, pending = found["approvals"]
    assert (approved.status, approved.decided_by, approved.decided_via, approved.slack_ts) == (
        "approved", "alice", "slack", "1764578130.000100")
    assert approved.decided_at == T0 + timedelta(minutes=2, microseconds=999999)
    assert found["pending"] == [pending] and pending.from_version is None
    lock, plain = found["locks"]
    assert lock is not None and (lock.host, lock.pid, lock.boot_id) == ("laptop", 4242, "b00t-1")
    assert plain is not None and plain.expires_at == T0 + timedelta(seconds=60) and plain.pid is None
    assert found["investigations"][0].findings == {"suspect": "dep-a1", "scores": [0.5, 0.9], "counts": {"500": 547}}
    assert found["fleet"] == (1, FLEET)


def test_today_s_store_writes_the_same_rows_and_schema(old: Path, tmp_path: Path) -> None:
    new = tmp_path / "new"
    with open_store(default_database_url(new)) as pad:
        write_history(pad)
        written = everything(pad)
    with open_store(default_database_url(old)) as pad:
        assert everything(pad) == written
    snapshot(new)  # closes the connections: everything is in the files
    for table in TABLES:
        assert raw(new / "runbook.db", f"SELECT * FROM {table}") == raw(old / "runbook.db", f"SELECT * FROM {table}")
    schema = "SELECT type, name, sql FROM sqlite_master"
    assert raw(new / "runbook.db", schema) == raw(old / "runbook.db", schema)
    assert [row[0] for row in raw(new / "runbook.db", "SELECT name FROM runbook_migrations")] == [
        row[0] for row in raw(old / "runbook.db", "SELECT name FROM runbook_migrations")]


def test_what_it_wrote_is_what_today_s_store_would_compare_against(old: Path) -> None:
    # Lock expiry is compared as text on SQLite: the old rows' text orders like the instants it holds.
    with open_store(default_database_url(old)) as pad:
        assert pad.get_lock("search-api/staging", now=T0 + timedelta(seconds=59, microseconds=999999)) is not None
        assert pad.get_lock("search-api/staging", now=T0 + timedelta(seconds=60)) is None
        later = T0 + timedelta(seconds=60)
        taken = pad.acquire_lock("search-api/staging", "dave@ci", "dep-d4", later, 60)  # expired: taken over
        assert taken.acquired_at == later
        with pytest.raises(Exception, match="locked by bob"):
            pad.acquire_lock("checkout-api/production", "dave@ci", "dep-d4", T0 + timedelta(hours=1, minutes=9), 60)
