"""SQLite engine details that only show when processes open one file together."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from memory import engines


def test_switching_to_wal_retries_while_another_connection_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "fresh.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("CREATE TABLE t (x)")  # a file still in rollback-journal mode...
    writer.execute("BEGIN IMMEDIATE")  # ...that another process is writing to right now
    writer.execute("INSERT INTO t VALUES (1)")
    opener = sqlite3.connect(path, isolation_level=None, timeout=engines.BUSY_TIMEOUT_SECONDS)
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        opener.execute("PRAGMA journal_mode = WAL")  # SQLite says "locked" at once, busy timeout or not

    waits: list[float] = []

    def other_writer_finishes(seconds: float) -> None:
        waits.append(seconds)
        writer.execute("COMMIT")

    monkeypatch.setattr(engines.time, "sleep", other_writer_finishes)
    engines.ensure_wal(opener)
    assert opener.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert len(waits) == 1
    engines.ensure_wal(opener)  # already WAL: nothing to wait for
    assert len(waits) == 1
    opener.close()
    writer.close()


def test_a_read_only_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.close()
    reader = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    engines.ensure_wal(reader)  # no error: reads work, and a write will say it is read-only
    assert reader.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    reader.close()
