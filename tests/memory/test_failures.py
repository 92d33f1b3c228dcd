"""Which driver errors are the state's fault (a StateError) and which are the code's (passed through)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import psycopg
import pytest
from psycopg import errors as pg_errors

from memory.errors import StateError
from memory.failures import translated
from memory.records import DeploymentRecord
from memory.scratchpad import Scratchpad
from memory.sql import is_integrity_error

PG = "postgresql+psycopg://alice:s3cret@db.internal/runbook"
SQLITE = "sqlite:////var/lib/runbook/runbook.db"


@pytest.mark.parametrize("error", [
    pg_errors.UniqueViolation("duplicate key"),
    pg_errors.UndefinedColumn("no such column"),
    sqlite3.IntegrityError("UNIQUE constraint failed"),
    sqlite3.ProgrammingError("closed"),
])
def test_errors_of_the_code_pass_through(error: Exception) -> None:
    with pytest.raises(type(error)), translated(PG):
        raise error


def test_an_integrity_error_through_the_store_passes_through(
    pad: Scratchpad, make_deployment: Callable[..., DeploymentRecord]
) -> None:
    pad.record_deployment(make_deployment("dep-1"))
    with pytest.raises(Exception) as caught:
        pad.record_deployment(make_deployment("dep-1"))  # the same id again: the code's mistake, not the state's
    assert not isinstance(caught.value, StateError) and is_integrity_error(caught.value)
    assert pad.get_deployment("dep-1") == make_deployment("dep-1")


@pytest.mark.parametrize(("error", "words"), [
    (psycopg.OperationalError("connection failed: Connection refused"), "cannot be reached"),
    (pg_errors.InsufficientPrivilege("permission denied for table locks"), "lacks a permission"),
    (pg_errors.ReadOnlySqlTransaction("cannot execute INSERT in a read-only transaction"), "read-only"),
    (pg_errors.DiskFull("could not extend file"), "out of disk"),
])
def test_failures_of_a_postgresql_state_are_one_sentence(error: Exception, words: str) -> None:
    with pytest.raises(StateError) as caught, translated(PG):
        raise error
    message = str(caught.value)
    assert words in message and "alice:***@db.internal" in message and "s3cret" not in message
    assert "\n" not in message and message.endswith(".")


def test_a_raw_driver_failure_is_translated_too() -> None:
    with pytest.raises(StateError, match="cannot be reached"), translated(PG):
        raise psycopg.OperationalError("connection to server failed: Connection refused")
    with pytest.raises(StateError, match="is full"), translated(SQLITE):
        raise sqlite3.OperationalError("database or disk is full")
