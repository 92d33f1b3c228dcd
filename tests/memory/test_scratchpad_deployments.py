"""Deployments, the event log, investigations, and how datetimes and the file behave."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from memory.records import DeploymentRecord, InvestigationRecord
from memory.scratchpad import Scratchpad
from tests.memory.conftest import raw_connection

MakeDeployment = Callable[..., DeploymentRecord]


def test_deployment_round_trip(pad: Scratchpad, make_deployment: MakeDeployment, t0: datetime) -> None:
    record = make_deployment(
        image_digest="sha256:abc",
        approver="alice",
        ended_at=t0 + timedelta(minutes=7),
        status="succeeded",
        from_revision=41,
        to_revision=42,
        metrics_before={"error_rate": 0.1, "p99_ms": None},
        metrics_after={"error_rate": 0.05},
        detail="all checks passed",
    )
    pad.record_deployment(record)
    assert pad.get_deployment(record.id) == record
    assert pad.get_deployment("dep-nope") is None


def test_defaults_round_trip(pad: Scratchpad, make_deployment: MakeDeployment) -> None:
    pad.record_deployment(make_deployment())
    stored = pad.get_deployment("dep-20261126-1510-a1b2")
    assert stored is not None
    assert (stored.status, stored.kind, stored.metrics_before, stored.ended_at) == (
        "running",
        "deploy",
        {},
        None,
    )


def test_update_deployment_is_partial_and_returns_the_new_record(
    pad: Scratchpad, make_deployment: MakeDeployment, t0: datetime
) -> None:
    pad.record_deployment(make_deployment("dep-1"))
    ended = t0 + timedelta(minutes=9)
    updated = pad.update_deployment("dep-1", status="canary_failed", ended_at=ended, metrics_after={"x": 2.0})
    assert updated.status == "canary_failed"
    assert updated.ended_at == ended
    assert updated.to_version == "v1.4.2"  # untouched
    assert pad.get_deployment("dep-1") == updated


def test_update_deployment_errors(pad: Scratchpad, make_deployment: MakeDeployment) -> None:
    pad.record_deployment(make_deployment("dep-1"))
    with pytest.raises(KeyError):
        pad.update_deployment("dep-missing", status="failed")
    with pytest.raises(TypeError, match="colour"):
        pad.update_deployment("dep-1", colour="red")
    with pytest.raises(TypeError, match="id"):
        pad.update_deployment("dep-1", id="dep-2")
    with pytest.raises(ValidationError):
        pad.update_deployment("dep-1", to_revision="not a number")
    assert pad.get_deployment("dep-1") == make_deployment("dep-1")


def test_list_deployments_filters_and_orders_newest_first(
    pad: Scratchpad, make_deployment: MakeDeployment
) -> None:
    pad.record_deployment(make_deployment("dep-a", minutes=0))
    pad.record_deployment(make_deployment("dep-c", minutes=20, kind="rollback"))
    pad.record_deployment(make_deployment("dep-b", minutes=10, environment="staging"))
    pad.record_deployment(make_deployment("dep-d", minutes=30, service="search-api"))

    assert [d.id for d in pad.list_deployments()] == ["dep-d", "dep-c", "dep-b", "dep-a"]
    assert [d.id for d in pad.list_deployments(service="checkout-api")] == ["dep-c", "dep-b", "dep-a"]
    assert [d.id for d in pad.list_deployments(environment="production")] == ["dep-d", "dep-c", "dep-a"]
    assert [d.id for d in pad.list_deployments("checkout-api", "production")] == ["dep-c", "dep-a"]
    assert [d.id for d in pad.list_deployments(kind="rollback")] == ["dep-c"]
    assert [d.id for d in pad.list_deployments(kind="deploy", limit=2)] == ["dep-d", "dep-b"]
    assert pad.list_deployments(service="nope") == []


def test_find_deployment_by_id_or_unique_prefix(pad: Scratchpad, make_deployment: MakeDeployment) -> None:
    pad.record_deployment(make_deployment("dep-20261126-1510-a1b2"))
    pad.record_deployment(make_deployment("dep-20261126-1510-a1b2-x"))
    pad.record_deployment(make_deployment("dep-20261127-0900-ffff"))

    found = pad.find_deployment("dep-20261127")
    assert found is not None and found.id == "dep-20261127-0900-ffff"
    exact = pad.find_deployment("dep-20261126-1510-a1b2")  # a full id wins even when it prefixes another
    assert exact is not None and exact.id == "dep-20261126-1510-a1b2"
    assert pad.find_deployment("dep-2026112") is None  # ambiguous
    assert pad.find_deployment("dep-9") is None
    assert pad.find_deployment("") is None
    assert pad.find_deployment("dep-2026112_-0900") is None  # LIKE wildcards are taken literally
    assert pad.find_deployment("%") is None


def test_events_come_back_in_append_order(pad: Scratchpad, t0: datetime) -> None:
    seqs = [
        pad.append_event("dep-1", "StepStarted", t0 + timedelta(seconds=5), {"step": "pre-checks"}),
        pad.append_event("dep-2", "StepStarted", t0, {"step": "pre-checks"}),
        # Order is append order, not the timestamp order.
        pad.append_event("dep-1", "CheckPassed", t0, {"check": "image", "nested": {"ok": [1, 2]}}),
    ]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3

    events = pad.events("dep-1")
    assert [(e.seq, e.kind) for e in events] == [(seqs[0], "StepStarted"), (seqs[2], "CheckPassed")]
    assert events[1].payload == {"check": "image", "nested": {"ok": [1, 2]}}
    assert events[0].at == t0 + timedelta(seconds=5) and events[0].at.tzinfo is not None
    assert pad.events("dep-none") == []


def test_event_log_is_append_only(pad: Scratchpad, t0: datetime) -> None:
    pad.append_event("dep-1", "StepStarted", t0, {"step": "canary"})
    before = pad.events("dep-1")
    pad.append_event("dep-1", "StepStarted", t0, {"step": "rollout"})
    assert pad.events("dep-1")[:1] == before  # appending never rewrites what is there
    assert not any(hasattr(pad, name) for name in ("update_event", "delete_event", "delete_events"))

    # The database itself refuses, to anyone: SQLite by triggers, PostgreSQL by a trigger function.
    statements = ["UPDATE events SET kind = 'forged'", "DELETE FROM events"]
    if pad.dialect == "postgresql":
        statements.append("TRUNCATE events")
    for statement in statements:
        with raw_connection(pad.url) as raw, pytest.raises(Exception, match="append-only"):
            raw.execute(statement)
    assert len(pad.events("dep-1")) == 2


def test_investigations_round_trip_newest_first(pad: Scratchpad, t0: datetime) -> None:
    def make(id: str, service: str, minutes: int) -> InvestigationRecord:
        return InvestigationRecord(
            id=id,
            service=service,
            environment="production" if service == "checkout-api" else None,
            question="why are 5xx up?",
            started_at=t0 + timedelta(minutes=minutes),
            window_start=t0 - timedelta(hours=1) if minutes else None,
            window_end=t0 if minutes else None,
            summary="bad deploy",
            findings={"suspect": "dep-1", "scores": [0.5, 0.9]},
        )

    records = [
        make("inv-1", "checkout-api", 0),
        make("inv-2", "search-api", 5),
        make("inv-3", "checkout-api", 10),
    ]
    for record in records:
        pad.record_investigation(record)
    assert pad.list_investigations() == [records[2], records[1], records[0]]
    assert pad.list_investigations(service="checkout-api") == [records[2], records[0]]
    assert pad.list_investigations(limit=1) == [records[2]]


def test_datetimes_are_utc_aware_in_and_out(
    pad: Scratchpad, make_deployment: MakeDeployment, t0: datetime
) -> None:
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2026, 11, 26, 17, 10, 30, 123456, tzinfo=plus_two)
    pad.record_deployment(make_deployment("dep-1", started_at=local))
    stored = pad.get_deployment("dep-1")
    assert stored is not None
    assert stored.started_at == local
    assert stored.started_at.tzinfo == UTC
    assert stored.started_at == datetime(2026, 11, 26, 15, 10, 30, 123456, tzinfo=UTC)

    seq = pad.append_event("dep-1", "StepStarted", local, {})
    event = pad.events("dep-1")[0]
    assert event.seq == seq and event.at == local and event.at.tzinfo == UTC

    with pytest.raises(ValidationError, match="naive"):
        make_deployment("dep-2", started_at=datetime(2026, 11, 26, 15, 10))
    with pytest.raises(ValueError, match="naive"):
        pad.append_event("dep-1", "StepStarted", datetime(2026, 11, 26, 15, 10), {})


def test_reopening_keeps_everything_and_is_idempotent(
    tmp_path: Path, make_deployment: MakeDeployment, t0: datetime
) -> None:
    state = tmp_path / "nested" / "state"
    with Scratchpad.in_dir(state) as first:
        first.record_deployment(make_deployment("dep-1"))
        first.append_event("dep-1", "StepStarted", t0, {})
    assert (state / "runbook.db").is_file()
    with Scratchpad.in_dir(state) as second, Scratchpad.in_dir(state) as third:
        assert second.get_deployment("dep-1") == make_deployment("dep-1")
        assert [e.kind for e in third.events("dep-1")] == ["StepStarted"]
    raw = sqlite3.connect(state / "runbook.db")
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        raw.close()


def test_any_sqlite_url(tmp_path: Path, make_deployment: MakeDeployment) -> None:
    with Scratchpad(f"sqlite:///{tmp_path / 'other.db'}") as pad:
        pad.record_deployment(make_deployment("dep-1"))
        assert pad.find_deployment("dep") == make_deployment("dep-1")
    with Scratchpad("sqlite://") as memory_pad:  # in-memory: no WAL, still works
        memory_pad.record_deployment(make_deployment("dep-1"))
        assert memory_pad.list_deployments() == [make_deployment("dep-1")]
