"""Shared fixtures. No test touches the network; each test gets its own state directory."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    # The option pytest-recording would add: `pytest tests/agent/ask --record-mode=once` with a real
    # ANTHROPIC_API_KEY replaces the hand-written cassettes with recordings.
    parser.addoption("--record-mode", default=None, help="vcrpy record mode for the Anthropic cassettes (default: none)")


@pytest.fixture(autouse=True)
def _no_model_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    # The global switch (as pydantic-ai's ALLOW_MODEL_REQUESTS): a model client may only reach this machine
    # (a local stand-in of the Messages API); a replayed cassette switches it on for its own duration.
    import agent.model

    monkeypatch.setattr(agent.model, "ALLOW_MODEL_REQUESTS", False)


@pytest.fixture(autouse=True)
def _isolated_environment(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    # Instant sandbox time, a known requester, no colours, and nothing from the developer's shell.
    monkeypatch.setenv("RUNBOOK_TIME_SCALE", "0")
    monkeypatch.setenv("RUNBOOK_USER", "dev")
    monkeypatch.setenv("NO_COLOR", "1")
    # Recall (chromadb and an embedding model, about a second of CPU and 400 MB per process) only where
    # the test is about it: @pytest.mark.recall. Elsewhere commands go on without it, as they would
    # with knowledge.enabled: false.
    monkeypatch.setenv("RUNBOOK_KNOWLEDGE_ENABLED", "true" if request.node.get_closest_marker("recall") else "false")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "ANTHROPIC_API_KEY", "SLACK_BOT_TOKEN", "RUNBOOK_CONFIG",
                 "RUNBOOK_DATABASE_URL", "RUNBOOK_KNOWLEDGE_URL", "XDG_CONFIG_HOME", "AWS_REGION",
                 "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.config/runbook/runbook.yaml of the developer's
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def _close_database_engines():
    # Engines are cached per URL per process (for the long-running bot); a test's databases die with it.
    yield
    engines = sys.modules.get("memory.engines")
    if engines is not None:
        engines.dispose_engines()
    # Likewise recall's open indexes, and chromadb's own cache of clients (one per folder, kept for the
    # life of the process): a test's index dies with its folder, and the suite's memory stays flat.
    recall = sys.modules.get("memory.recall")
    if recall is not None:
        recall._OPEN.clear()
    if "chromadb" in sys.modules:
        from chromadb.api.client import SharedSystemClient

        SharedSystemClient.clear_system_cache()


@pytest.fixture(scope="session")
def postgres_server():
    """One real PostgreSQL (pgserver's binaries) on 127.0.0.1 for the whole session; never skipped."""
    from tests.postgres_server import LocalPostgres

    server = LocalPostgres()
    try:
        server.start()  # raises, with the server's log, if it cannot start: every test using it errors
        yield server
    finally:
        server.stop()  # also removes the data folder of a server that failed to start


@pytest.fixture
def postgres_url(postgres_server) -> Iterator[str]:
    """A fresh, empty database on the session's server: a ``postgresql+psycopg://`` URL."""
    from memory.engines import dispose_engine

    name = f"t_{uuid.uuid4().hex[:16]}"
    postgres_server.create_database(name)
    url = postgres_server.url(name)
    yield url
    dispose_engine(url)
    postgres_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """The same test on SQLite (``<tmp>/state/runbook.db``) and on PostgreSQL (a fresh database)."""
    if request.param == "sqlite":
        from memory.urls import default_database_url

        return default_database_url(tmp_path / "state")
    return str(request.getfixturevalue("postgres_url"))
