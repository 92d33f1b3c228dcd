"""Bad state through the CLI: one sentence naming the file or URL, exit 8, no traceback, nothing
half-written; a store that fails mid-deploy says what is left and the command that finishes it."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from memory.engines import dispose_engines, engine_for
from memory.scratchpad import Scratchpad
from tests.agent.cli_support import RUNBOOK, fleet_snapshot, recorded_deployments, run_cli

DB = Path(".runbook") / "runbook.db"


def history() -> list[dict[str, Any]]:
    return recorded_deployments()


def test_a_corrupt_database_is_one_sentence_and_left_alone() -> None:
    assert run_cli("history").exit_code == 0
    dispose_engines()  # as a new command would: its own process, its own connections
    DB.write_bytes(b"this is not a database, someone overwrote it" * 100)
    before = DB.read_bytes()
    result = subprocess.run(RUNBOOK + ["history"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 8, result.stdout + result.stderr
    assert result.stderr.startswith("Error: ") and str(DB.resolve()) in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert DB.read_bytes() == before


def test_an_unreachable_postgresql_is_one_sentence_without_the_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RUNBOOK_DATABASE_URL", "postgresql://runbook:s3cret@127.0.0.1:1/runbook")
    result = run_cli("-q", "status")  # -q: the error alone on stderr, without the sandbox note
    assert result.exit_code == 8, result.output
    assert "127.0.0.1:1" in result.stderr and "s3cret" not in result.output
    assert "Traceback" not in result.output and len(result.stderr.strip().splitlines()) == 1


def test_a_full_disk_mid_canary_names_what_is_left_and_how_to_finish(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite's own "database or disk is full", raised for every write once the canary observes (a
    fault injected at the DB-API layer: a real full disk needs a mount this machine's CI may not allow)."""
    from skills.deploy import canary

    url = f"sqlite:///{DB.resolve()}"
    real = canary.judge_now

    def full(statement: str, params: Any) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            raise sqlite3.OperationalError("database or disk is full")

    def fill_the_disk(*args: Any, **kwargs: Any) -> Any:
        hooks = engine_for(url).hooks.before_execute  # the store's seam for fault injection
        if full not in hooks:
            hooks.append(full)
        return real(*args, **kwargs)

    monkeypatch.setattr(canary, "judge_now", fill_the_disk)
    result = run_cli("deploy", "checkout-api", "--version", "1.2.3", "-e", "production")
    engine_for(url).hooks.before_execute.remove(full)
    assert result.exit_code == 8, result.output
    assert "full" in result.output and "Traceback" not in result.output
    [row] = history()
    assert row["status"] == "running"  # nothing could be written: the record says so, and the lock stays
    assert f"runbook resume {row['id']} --abort` finishes the clean-up" in result.output
    assert fleet_snapshot()["canary"]  # the sandbox's canary lives in that database too
    monkeypatch.setattr(canary, "judge_now", real)
    with Scratchpad.in_dir(Path(".runbook")) as store:  # the failed command's process has exited
        lock = store.get_lock("checkout-api/production")
        assert lock is not None and lock.deployment_id == row["id"]
        store.take_over_lock(lock.key, lock, lock.holder, lock.deployment_id, lock.acquired_at, 90,
                             host=lock.host, pid=999_999_999, boot_id=lock.boot_id)
    closed = run_cli("resume", row["id"], "--abort")
    assert closed.exit_code == 0, closed.output
    assert fleet_snapshot()["canary"] == [] and history()[0]["status"] == "abandoned"
