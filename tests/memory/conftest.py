"""Fixtures for the scratchpad tests: a store in the test's own directory and record factories."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
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


_RACER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from memory.scratchpad import Scratchpad

    url, name, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    late = globals().get("OPEN_AFTER_GO", False)  # race the opening itself (a fresh database)
    pad = None if late else Scratchpad(url)
    Path(str(go) + "." + name).touch()          # ready
    while not go.exists():
        time.sleep(0.001)
    if late:
        from memory.database import open_store
        pad = open_store(url)
    result = RACE(pad, name)
    pad.close()
    print(json.dumps(result))
    """
)


@pytest.fixture
def race(tmp_path: Path) -> Callable[[str, str, int], list[dict[str, Any]]]:
    """Run ``race_body`` (source defining ``RACE(pad, name) -> dict``) in N processes started together.

    With ``OPEN_AFTER_GO = True`` in the body, each process opens the store only once all are released.
    """

    def run(url: str, race_body: str, processes: int) -> list[dict[str, Any]]:
        go = tmp_path / "go"
        script = textwrap.dedent(race_body) + _RACER
        env = os.environ | {
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))
        }
        names = [f"p{i}" for i in range(processes)]
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", script, url, name, str(go)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for name in names
        ]
        deadline = time.monotonic() + 60
        while not all(Path(f"{go}.{name}").exists() for name in names):
            assert time.monotonic() < deadline, "racers did not start"
            assert all(p.poll() is None for p in procs), [
                p.communicate() for p in procs if p.poll() is not None
            ]
            time.sleep(0.01)
        go.touch()
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results

    return run
