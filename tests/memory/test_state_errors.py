"""Bad state on SQLite: one sentence (a StateError, exit 8) naming the file, and nothing changed."""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from memory.database import default_database_url, open_store
from memory.engines import dispose_engines
from memory.errors import StateError, UserError
from memory.records import DeploymentRecord
from memory.scratchpad import Scratchpad
from tests.memory.unprivileged import run_unprivileged

FIXTURE = Path(__file__).parent / "fixtures" / "state-0.1.0"
MakeDeployment = Callable[..., DeploymentRecord]


def assert_one_sentence(message: str, *names: object) -> None:
    assert "\n" not in message and message.endswith("."), message
    assert ". " not in message, f"more than one sentence: {message}"
    for name in names:
        assert str(name) in message, f"{name} not named in: {message}"


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with a hash of its bytes (what "nothing changed" compares).

    SQLite's shared-memory index and an empty write-ahead log hold no data: they are left out.
    """
    dispose_engines()
    if not folder.exists():
        return {}
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "dir"
        for path in sorted(folder.rglob("*"))
        if not path.name.endswith("-shm") and not (path.name.endswith("-wal") and path.stat().st_size == 0)
    }


@pytest.fixture
def state(tmp_path: Path) -> Path:
    folder = tmp_path / "state"
    folder.mkdir()
    return folder


@pytest.fixture
def world_readable(tmp_path: Path) -> Iterator[Path]:
    """A folder the unprivileged child can reach (pytest's own tmp root is private to its user)."""
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="runbook-perm-"))
    root.chmod(0o755)
    yield root
    for path in (root, *root.rglob("*")):
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)
    shutil.rmtree(root)


def open_fails(url: str) -> str:
    with pytest.raises(StateError) as caught:
        open_store(url)
    assert caught.value.exit_code == 8
    return str(caught.value)


def test_state_error_is_a_user_error_with_exit_code_8() -> None:
    assert issubclass(StateError, UserError) and StateError.exit_code == 8
    assert UserError.exit_code != 0


def test_a_file_that_is_not_a_database(state: Path) -> None:
    db = state / "runbook.db"
    db.write_text("these are my notes, not a database\n" * 200)
    before = snapshot(state)
    message = open_fails(default_database_url(state))
    assert_one_sentence(message, db)
    assert "not a SQLite database" in message and "SQLITE_NOTADB" in message
    assert snapshot(state) == before


def test_a_truncated_database(state: Path) -> None:
    db = state / "runbook.db"
    shutil.copy(FIXTURE / "runbook.db", db)
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 3])  # the tail of the file is gone
    before = snapshot(state)
    message = open_fails(default_database_url(state))
    assert_one_sentence(message, db)
    assert "damaged" in message
    assert snapshot(state) == before


def test_a_state_folder_path_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / ".runbook"
    blocker.write_text("not a folder")
    message = open_fails(default_database_url(blocker))
    assert_one_sentence(message, blocker)
    assert "is a file" in message
    assert blocker.read_text() == "not a folder"
    # Deeper: a parent of the folder is the file.
    message = open_fails(default_database_url(blocker / "nested"))
    assert_one_sentence(message, blocker)


def test_a_database_path_that_is_a_folder(state: Path) -> None:
    (state / "runbook.db").mkdir()
    message = open_fails(default_database_url(state))
    assert_one_sentence(message, state / "runbook.db")
    assert "is a folder" in message
    assert snapshot(state) == {"runbook.db": "dir"}


@pytest.mark.parametrize("old", ["checkpoints.db", "conversations.db"])
def test_a_missing_database_next_to_old_history_is_refused(state: Path, old: str) -> None:
    shutil.copy(FIXTURE / old, state / old)
    before = snapshot(state)
    message = open_fails(default_database_url(state))
    assert_one_sentence(message, state / "runbook.db", old)
    assert "missing" in message
    assert snapshot(state) == before  # no empty history was made in its place


@pytest.mark.parametrize("old", ["checkpoints.db", "conversations.db", "sandbox.json"])
def test_an_empty_database_next_to_old_state_is_refused(state: Path, old: str) -> None:
    shutil.copy(FIXTURE / old, state / old)
    (state / "runbook.db").write_bytes(b"")
    before = snapshot(state)
    message = open_fails(default_database_url(state))
    assert_one_sentence(message, state / "runbook.db", old)
    assert "empty (0 bytes)" in message
    assert snapshot(state) == before


def test_checkpoints_without_the_scratchpad_tables_are_refused(state: Path) -> None:
    shutil.copy(FIXTURE / "checkpoints.db", state / "runbook.db")  # e.g. the wrong file restored
    before = snapshot(state)
    message = open_fails(default_database_url(state))
    assert_one_sentence(message, state / "runbook.db")
    assert "checkpoints" in message and "history" in message
    assert snapshot(state) == before


def test_an_empty_database_alone_is_a_new_database(state: Path) -> None:
    (state / "runbook.db").write_bytes(b"")  # nothing around it to lose
    with open_store(default_database_url(state)) as pad:
        assert pad.list_deployments() == []


def test_a_full_disk_on_write_saves_nothing(
    sqlite_pad: Scratchpad, make_deployment: MakeDeployment, t0: datetime
) -> None:
    sqlite_pad.record_deployment(make_deployment("dep-1"))
    engine = sqlite_pad._engine
    dispose_engines()  # new connections from here on get the limit below

    def _small_disk(dbapi_connection: sqlite3.Connection) -> None:
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "disk is full"

    engine.hooks.on_connect.append(_small_disk)
    engine.dispose()
    with pytest.raises(StateError) as caught:
        sqlite_pad.update_deployment("dep-1", status="failed", detail="x" * 200_000,
                                     ended_at=t0 + timedelta(minutes=1))
    message = str(caught.value)
    assert_one_sentence(message, sqlite_pad.display_url)
    assert "full" in message and "nothing was saved" in message and "SQLITE_FULL" in message
    with pytest.raises(StateError, match="full"):
        sqlite_pad.append_event("dep-1", "StepStarted", t0, {"blob": "y" * 200_000})
    engine.hooks.on_connect.remove(_small_disk)
    engine.dispose()
    assert sqlite_pad.get_deployment("dep-1") == make_deployment("dep-1")  # not half-written
    assert sqlite_pad.events("dep-1") == []


# -- permissions: run in a child process that file modes apply to, even as root ------------------------

_READ = """
from memory.database import open_store
report(lambda: [d.id for d in open_store(sys.argv[1]).list_deployments()])
"""
_WRITE = """
from datetime import UTC, datetime
from memory.database import open_store
report(lambda: open_store(sys.argv[1]).append_event("dep-1", "StepStarted", datetime.now(UTC), {}))
"""


@pytest.fixture
def shared_state(world_readable: Path, make_deployment: MakeDeployment) -> Path:
    folder = world_readable / "state"
    with open_store(default_database_url(folder)) as pad:
        pad.record_deployment(make_deployment("dep-1"))
    dispose_engines()
    connection = sqlite3.connect(folder / "runbook.db")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    for side in folder.glob("runbook.db-*"):
        side.unlink()
    return folder


def test_the_unprivileged_child_can_use_a_normal_folder(shared_state: Path) -> None:
    url = default_database_url(shared_state)
    assert run_unprivileged(_READ, url) == {"ok": ["dep-1"]}
    assert "ok" in run_unprivileged(_WRITE, url)


def test_an_unreadable_database_file(shared_state: Path) -> None:
    db = shared_state / "runbook.db"
    db.chmod(0o000)
    result = run_unprivileged(_READ, default_database_url(shared_state))
    assert result["exit_code"] == 8
    assert_one_sentence(result["error"], db)
    assert "permission denied" in result["error"]


def test_an_unreadable_state_folder(shared_state: Path) -> None:
    shared_state.chmod(0o000)
    result = run_unprivileged(_READ, default_database_url(shared_state))
    assert_one_sentence(result["error"], shared_state)
    assert "permission denied" in result["error"]


def test_a_read_only_database_file_reads_but_refuses_writes(shared_state: Path) -> None:
    db = shared_state / "runbook.db"
    db.chmod(0o444)
    before = snapshot(shared_state)
    url = default_database_url(shared_state)
    assert run_unprivileged(_READ, url) == {"ok": ["dep-1"]}  # history still readable
    result = run_unprivileged(_WRITE, url)
    assert_one_sentence(result["error"], db)
    assert "read-only" in result["error"]
    db.chmod(0o644)
    assert snapshot(shared_state) == before


def test_a_read_only_state_folder(shared_state: Path) -> None:
    before = snapshot(shared_state)
    shared_state.chmod(0o555)
    result = run_unprivileged(_WRITE, default_database_url(shared_state))
    assert_one_sentence(result["error"], shared_state / "runbook.db")
    assert "read-only" in result["error"]
    shared_state.chmod(0o755)
    assert snapshot(shared_state) == before


def test_a_state_folder_that_cannot_be_created(world_readable: Path) -> None:
    parent = world_readable / "locked"
    parent.mkdir()
    parent.chmod(0o555)
    result = run_unprivileged(_READ, default_database_url(parent / ".runbook"))
    assert_one_sentence(result["error"], parent / ".runbook")
    assert "permission denied" in result["error"]
    assert not (parent / ".runbook").exists()


def test_the_bad_state_messages_come_from_the_store_too(tmp_path: Path) -> None:
    # Scratchpad(url) and Scratchpad.in_dir (still used by code not yet on open_store) say the same.
    state = tmp_path / "state"
    state.mkdir()
    (state / "runbook.db").write_text("garbage" * 500)
    with pytest.raises(StateError, match="not a SQLite database"):
        Scratchpad.in_dir(state)
    with pytest.raises(StateError, match="not a SQLite database"):
        Scratchpad(default_database_url(state))
    assert os.path.getsize(state / "runbook.db") == len("garbage" * 500)
