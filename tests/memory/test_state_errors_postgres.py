"""Bad state on PostgreSQL: one sentence naming the URL (password masked), exit 8, nothing changed."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import datetime

import pytest

from memory.database import open_store
from memory.errors import StateError
from memory.records import DeploymentRecord
from tests.memory.test_state_errors import assert_one_sentence
from tests.postgres_server import PASSWORD, PASSWORD_ROLE, LocalPostgres

MakeDeployment = Callable[..., DeploymentRecord]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens there once the probe is closed


def open_fails(url: str) -> str:
    with pytest.raises(StateError) as caught:
        open_store(url)
    assert caught.value.exit_code == 8
    return str(caught.value)


def test_a_server_that_refuses_the_connection() -> None:
    url = f"postgresql://alice:hunter2-secret@127.0.0.1:{_closed_port()}/runbook"
    message = open_fails(url)
    assert_one_sentence(message, "alice:***@127.0.0.1")
    assert "cannot be reached (connection refused" in message
    assert "hunter2-secret" not in message


def test_a_wrong_host_is_named(tmp_path) -> None:
    # A host that is not there, without asking any DNS server: a socket folder with no server in it.
    url = f"postgresql://alice:hunter2-secret@/runbook?host={tmp_path / 'no-server'}"
    message = open_fails(url)
    assert_one_sentence(message, "no-server")
    assert "cannot be reached" in message and "hunter2-secret" not in message


def test_a_wrong_password_is_named_but_never_echoed(postgres_server: LocalPostgres, postgres_url: str) -> None:
    database = postgres_url.rsplit("/", 1)[1]
    wrong = postgres_server.url(database, user=PASSWORD_ROLE, password="Wr0ng-passw0rd")
    message = open_fails(wrong)
    assert_one_sentence(message, f"{PASSWORD_ROLE}:***@127.0.0.1")
    assert "refused the login" in message and "password" in message
    assert "Wr0ng-passw0rd" not in message
    # The right password opens it, and the store never shows it either.
    with open_store(postgres_server.url(database, user=PASSWORD_ROLE, password=PASSWORD)) as pad:
        assert PASSWORD not in pad.display_url and "***" in pad.display_url


def test_a_database_that_does_not_exist(postgres_server: LocalPostgres) -> None:
    message = open_fails(postgres_server.url("no_such_database"))
    assert_one_sentence(message, "no_such_database")
    assert "does not exist" in message


def test_a_read_only_database_refuses_writes_in_one_sentence(
    postgres_server: LocalPostgres, postgres_url: str, make_deployment: MakeDeployment, t0: datetime
) -> None:
    with open_store(postgres_url) as pad:
        pad.record_deployment(make_deployment("dep-1"))
    database = postgres_url.rsplit("/", 1)[1]
    postgres_server.execute(f'ALTER DATABASE "{database}" SET default_transaction_read_only = on')
    from memory.engines import dispose_engine

    dispose_engine(postgres_url)  # new sessions pick up the setting
    pad = open_store(postgres_url)
    assert [d.id for d in pad.list_deployments()] == ["dep-1"]  # reads still work
    with pytest.raises(StateError) as caught:
        pad.update_deployment("dep-1", status="failed")
    assert_one_sentence(str(caught.value), database)
    assert "read-only" in str(caught.value)
    with pytest.raises(StateError, match="read-only"):
        pad.append_event("dep-1", "StepStarted", t0, {})
    postgres_server.execute(f'ALTER DATABASE "{database}" SET default_transaction_read_only = off')
    dispose_engine(postgres_url)
    stored = open_store(postgres_url).get_deployment("dep-1")
    assert stored == make_deployment("dep-1")


def test_a_server_that_goes_away_while_in_use(postgres_server: LocalPostgres, postgres_url: str) -> None:
    pad = open_store(postgres_url)
    database = postgres_url.rsplit("/", 1)[1]
    postgres_server.drop_database(database)  # WITH (FORCE): our pooled connections are cut
    with pytest.raises(StateError) as caught:
        pad.list_deployments()
    assert_one_sentence(str(caught.value), database)
    assert "PostgreSQL" in str(caught.value)
    postgres_server.create_database(database)  # for the fixture's own clean-up
