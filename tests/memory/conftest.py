"""Fixtures for the scratchpad tests: a store in the test's own directory and record factories."""

from __future__ import annotations

import json
import os
import sqlite3
import textwrap
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from memory.records import ApprovalRecord, DeploymentRecord
from memory.scratchpad import Scratchpad

T0 = datetime(2026, 11, 26, 15, 10, tzinfo=UTC)
REPO_ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def raw_connection(url: str) -> Iterator[Any]:
    """The database behind ``url`` through its bare driver (sqlite3 or psycopg), bypassing the store."""
    if url.startswith("sqlite:///"):
        conn: Any = sqlite3.connect(url[len("sqlite:///"):], isolation_level=None)
    else:
        import psycopg

        conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def t0() -> datetime:
    return T0


@pytest.fixture
def pad(database_url: str) -> Iterator[Scratchpad]:
    """A store on SQLite and, as a second run of the same test, on PostgreSQL."""
    store = Scratchpad(database_url)
    yield store
    store.close()


@pytest.fixture
def sqlite_pad(tmp_path: Path) -> Iterator[Scratchpad]:
    """A store on SQLite only (``<tmp>/state/runbook.db``), for what is about the file itself."""
    store = Scratchpad.in_dir(tmp_path / "state")
    yield store
    store.close()


@pytest.fixture
def make_deployment() -> Callable[..., DeploymentRecord]:
    def make(id: str = "dep-20261126-1510-a1b2", minutes: int = 0, **fields: Any) -> DeploymentRecord:
        values: dict[str, Any] = {
            "id": id,
            "service": "checkout-api",
            "environment": "production",
            "from_version": "v1.4.1",
            "to_version": "v1.4.2",
            "requester": "dev",
            "started_at": T0 + timedelta(minutes=minutes),
        }
        return DeploymentRecord(**(values | fields))

    return make


@pytest.fixture
def make_approval() -> Callable[..., ApprovalRecord]:
    def make(
        id: str = "apr-1", deployment_id: str = "dep-1", minutes: int = 0, **fields: Any
    ) -> ApprovalRecord:
        values: dict[str, Any] = {
            "id": id,
            "deployment_id": deployment_id,
            "service": "checkout-api",
            "environment": "production",
            "from_version": "v1.4.1",
            "to_version": "v1.4.2",
            "image_digest": "sha256:" + "ab" * 32,
            "requester": "dev",
            "requested_at": T0 + timedelta(minutes=minutes),
            "expires_at": T0 + timedelta(minutes=minutes + 30),
        }
        return ApprovalRecord(**(values | fields))

    return make


@pytest.fixture(scope="session")
def _racers() -> Iterator[Any]:
    """The fork server every racer is forked from (started once, from the repository's folder)."""
    import multiprocessing

    from tests.memory.racing import PRELOAD

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    here = os.getcwd()
    os.chdir(REPO_ROOT)
    try:
        from multiprocessing import forkserver

        forkserver.ensure_running()
    finally:
        os.chdir(here)
    yield context


@pytest.fixture
def race(tmp_path: Path, _racers: Any) -> Callable[[str, str, int], list[dict[str, Any]]]:
    """Run ``race_body`` (source defining ``RACE(pad, name) -> dict``) in N processes started together.

    With ``OPEN_AFTER_GO = True`` in the body, each process opens the store only once all are released.
    """
    from tests.memory.racing import run_racer

    def run(url: str, race_body: str, processes: int) -> list[dict[str, Any]]:
        go = tmp_path / "go"
        source = textwrap.dedent(race_body)
        names = [f"p{i}" for i in range(processes)]
        outs = {name: tmp_path / f"result.{name}.json" for name in names}
        procs = [_racers.Process(target=run_racer, args=(source, url, name, str(go), str(outs[name])))
                 for name in names]
        for proc in procs:
            proc.start()

        def failures() -> list[str]:
            return [json.loads(out.read_text()).get("error", "") if out.exists() else f"{name} died"
                    for name, out, proc in zip(names, outs.values(), procs, strict=True)
                    if proc.exitcode not in (None, 0)]

        while not all(Path(f"{go}.{name}").exists() for name in names):
            assert not failures(), failures()
            time.sleep(0.01)
        go.touch()
        for proc in procs:
            proc.join()
        assert not failures(), failures()
        return [json.loads(outs[name].read_text())["result"] for name in names]

    return run
