"""The deploy lock tells a live deploy from a dead one, and a refused deploy says exactly what to run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from memory.scratchpad import Scratchpad
from tests.agent.cli_support import fleet_snapshot, run_cli
from tests.agent.deploy_processes import LOCK_KEY, history, killed_deploy, live_deploy

DEPLOY = ("deploy", "checkout-api", "--version", "1.2.4", "-e", "production")


def _store() -> Scratchpad:
    return Scratchpad.in_dir(Path(".runbook"))


def test_a_deploy_whose_process_died_on_this_host_is_named_with_resume_and_abort() -> None:
    dead = killed_deploy("Observing metrics")
    before = fleet_snapshot()
    result = run_cli(*DEPLOY)
    assert result.exit_code == 3, result.output
    assert f"Deployment {dead} of checkout-api to production stopped without finishing" in result.output
    assert "its process is gone" in result.output
    assert f"`runbook resume {dead}`" in result.output and f"`runbook resume {dead} --abort`" in result.output
    assert fleet_snapshot() == before  # the dead deploy's canary is untouched
    with _store() as store:
        lock = store.get_lock(LOCK_KEY)
        assert lock is not None and lock.deployment_id == dead
    assert [row["status"] for row in history()] == ["checks_failed", "running"]


def test_an_expired_lock_of_an_unfinished_deploy_elsewhere_is_not_taken_over() -> None:
    dead = killed_deploy("Observing metrics")
    with _store() as store:
        lock = store.get_lock(LOCK_KEY)
        assert lock is not None
        # As if it ran on another machine and its lock ran out an hour ago.
        long_ago = lock.acquired_at - timedelta(hours=2)
        assert store.take_over_lock(LOCK_KEY, lock, "dev@build-7 (pid 4242)", dead, long_ago, 600) is not None
    result = run_cli(*DEPLOY)
    assert result.exit_code == 3, result.output
    assert f"Deployment {dead} of checkout-api to production stopped without finishing" in result.output
    assert "its lock expired at" in result.output and f"`runbook resume {dead} --abort`" in result.output


def test_a_live_deploy_is_named_and_left_alone() -> None:
    with live_deploy("Observing metrics") as live:
        before = fleet_snapshot()
        result = run_cli(*DEPLOY)
        assert result.exit_code == 3, result.output
        assert f"Another deploy of checkout-api to production is in progress: {live}" in result.output
        assert f"`runbook resume {live} --abort`" in result.output
        assert fleet_snapshot()["canary"] == before["canary"]


def test_a_lock_left_by_a_finished_deploy_is_taken_over() -> None:
    assert run_cli("deploy", "checkout-api", "--version", "1.2.3", "-e", "production", "--dry-run").exit_code == 0
    [finished] = history()
    with _store() as store:
        store.acquire_lock(LOCK_KEY, "dev@build-7 (pid 4242)", str(finished["id"]), datetime.now(UTC), 600)
    result = run_cli(*DEPLOY, "--dry-run")
    assert result.exit_code == 0, result.output
    with _store() as store:
        assert store.get_lock(LOCK_KEY) is None  # taken, then released by the dry run's end
