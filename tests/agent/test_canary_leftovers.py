"""A canary that another deploy left behind stops a new deploy at its pre-checks (sandbox, through the CLI):
a dead deploy of this database is named with the command that removes its canary; a canary of a deployment
this database does not know is named too."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from memory.scratchpad import Scratchpad
from tests.agent.cli_support import fleet_snapshot, run_cli, sandbox_fleet
from tests.agent.test_resume_cli import LOCK_KEY, killed_deploy
from tools.backend import target_for
from tools.config import load_config

DEPLOY = ("deploy", "checkout-api", "--version", "1.2.3", "-e", "production")


def expire_lock(deployment_id: str) -> None:
    """As if the dead deploy's lock had run out its TTL."""
    store = Scratchpad.in_dir(Path(".runbook"))
    try:
        lock = store.get_lock(LOCK_KEY)
        assert lock is not None and lock.deployment_id == deployment_id
        store.acquire_lock(LOCK_KEY, lock.holder, deployment_id, lock.expires_at - timedelta(seconds=1300), 600)
    finally:
        store.close()


def test_a_dead_deploys_canary_is_named_with_the_command_that_removes_it() -> None:
    dead = killed_deploy("Observing metrics")
    expire_lock(dead)
    before = fleet_snapshot()
    [canary] = before["canary"]
    assert canary.deployment_id == dead

    refused = run_cli(*DEPLOY)
    assert refused.exit_code == 3, refused.output
    # The dead deploy's lock names it first (the canary check behind it would name its canary the same way).
    assert f"runbook resume {dead} --abort" in " ".join(refused.output.split())
    assert fleet_snapshot() == before  # nothing changed: no revision, no second canary, its canary untouched

    removed = run_cli("resume", dead, "--abort")
    assert removed.exit_code == 0, removed.output
    assert fleet_snapshot()["canary"] == []
    assert run_cli(*DEPLOY, "--dry-run").exit_code == 0


def test_a_finished_deploys_leftover_canary_is_removed_by_resume_abort() -> None:
    dead = killed_deploy("Observing metrics")
    assert run_cli("resume", dead, "--abort").exit_code == 0  # closed: recorded abandoned
    target = target_for(load_config(), "checkout-api", "production")
    with sandbox_fleet() as backend:  # as if its canary could not be removed then (expired credentials, say)
        backend.platform.start_canary(target, dead, backend.platform.current_task_definition(target), 1)
    refused = run_cli(*DEPLOY)
    assert refused.exit_code == 3
    assert f"is left over by deployment {dead}, which ended abandoned; remove it with: runbook resume {dead} --abort" in (
        " ".join(refused.output.split()))
    assert run_cli("resume", dead, "--abort").exit_code == 0
    assert fleet_snapshot()["canary"] == []
    again = run_cli("resume", dead, "--abort")  # nothing left to remove
    assert again.exit_code == 2 and "already finished (abandoned)" in again.output


def test_a_canary_of_a_deployment_this_database_does_not_know_is_named() -> None:
    target = target_for(load_config(), "checkout-api", "production")
    with sandbox_fleet() as backend:
        backend.platform.start_canary(target, "dep-elsewhere", backend.platform.current_task_definition(target), 1)
    before = fleet_snapshot()
    for flags in ((), ("--dry-run",)):
        refused = run_cli(*DEPLOY, *flags)
        assert refused.exit_code == 3, refused.output
        out = " ".join(refused.output.split())
        assert ("Canary checkout-api-canary-elsewhere (1.2.2, 1 of 1 tasks running) belongs to deployment"
                " dep-elsewhere, which is not in this runbook database: is someone deploying from another runbook"
                " database?") in out
        assert fleet_snapshot() == before
    store = Scratchpad.in_dir(Path(".runbook"))
    try:
        assert store.get_lock(LOCK_KEY) is None  # released again
    finally:
        store.close()
