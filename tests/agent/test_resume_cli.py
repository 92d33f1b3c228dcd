"""`runbook resume` end to end on the sandbox: a deploy killed with SIGKILL is continued (or closed)
by a later command, without a second canary or a second task-definition revision."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from memory.records import ApprovalRecord, DeploymentRecord, LockRecord
from memory.scratchpad import Scratchpad
from tests.agent.cli_support import deciding, fleet_snapshot, run_cli, sandbox_fleet
from tests.agent.deploy_processes import (
    LOCK_KEY,
    history,
    killed_deploy,
    live_deploy,
)
from tools.backend import target_for
from tools.config import load_config


def store_view(deployment_id: str) -> tuple[DeploymentRecord | None, ApprovalRecord | None, LockRecord | None]:
    store = Scratchpad.in_dir(Path(".runbook"))
    try:
        return (store.get_deployment(deployment_id), store.approval_for_deployment(deployment_id),
                store.get_lock(LOCK_KEY))
    finally:
        store.close()


def started_canaries_and_revisions(version: str = "1.2.3") -> tuple[set[str], list[int]]:
    """Every canary task the sandbox ever ran (from its task timeline), and the revisions registered for `version`."""
    target = target_for(load_config(), "checkout-api", "production")
    with sandbox_fleet() as backend:
        cluster = backend.platform.fleet.store.read().clusters[target.cluster]  # type: ignore[attr-defined]
    service = cluster.services[target.name]
    canaries = {task for entry in service.timeline for tasks in entry.tasks.values() for task in tasks
                if "-canary-" in task}
    revisions = [d.revision for d in cluster.task_definitions[service.family] if d.version == version]
    return canaries, revisions


def test_deploy_killed_during_the_canary_resumes_with_the_same_canary_and_revision() -> None:
    deployment_id = killed_deploy("Observing metrics")
    assert fleet_snapshot()["canary"], "the killed deploy left its canary running"
    assert run_cli("history").output.count("running") == 1

    with deciding("approve", "alice"):
        result = run_cli("resume", deployment_id[:8])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"Resuming deployment {deployment_id} from its last checkpoint (step 3, the canary)" in out
    assert "✓ Task definition: checkout-api:45 (registered before the restart)" in out
    assert "Canary already running (1 of 11 tasks, ~9% of traffic)" in out
    assert "✓ Approved by @alice" in out and "DEPLOYMENT SUCCESSFUL" in out
    after = fleet_snapshot()
    assert after["version"] == "1.2.3" and after["canary"] == [] and after["revision"] == 45
    canaries, revisions = started_canaries_and_revisions()
    assert len(canaries) == 1 and revisions == [45]
    record, approval, lock = store_view(deployment_id)
    assert record is not None and record.status == "succeeded" and record.approver == "alice"
    assert approval is not None and approval.status == "approved" and lock is None


def test_deploy_killed_while_waiting_for_approval_resumes_and_waits_again() -> None:
    deployment_id = killed_deploy("Waiting for approval")
    _, pending, _ = store_view(deployment_id)
    assert pending is not None and pending.status == "pending"

    with deciding("approve", "alice"):
        result = run_cli("resume", deployment_id)
    assert result.exit_code == 0, result.output
    assert "(step 4, waiting for approval)" in result.output and "Step 3/6" not in result.output
    assert "DEPLOYMENT SUCCESSFUL" in result.output
    assert fleet_snapshot()["version"] == "1.2.3"
    canaries, revisions = started_canaries_and_revisions()
    assert len(canaries) == 1 and revisions == [45]
    record, approval, _ = store_view(deployment_id)
    assert record is not None and record.status == "succeeded"
    assert approval is not None and approval.id == pending.id and approval.decided_by == "alice"


def test_abort_closes_a_dead_deploy_and_keeps_the_stable_version() -> None:
    deployment_id = killed_deploy("Waiting for approval")
    result = run_cli("resume", deployment_id, "--abort")
    assert result.exit_code == 0, result.output
    assert "abandoned by dev" in result.output and "DEPLOYMENT ABANDONED" in result.output
    after = fleet_snapshot()
    assert after["canary"] == [] and after["version"] == "1.2.2"
    record, approval, lock = store_view(deployment_id)
    assert lock is None
    assert approval is not None and approval.status == "aborted"
    assert record is not None and record.status == "abandoned" and record.detail == "abandoned by dev"
    # Closed now: a second resume is refused.
    again = run_cli("resume", deployment_id)
    assert again.exit_code == 2 and "already finished (abandoned)" in again.output


def test_finished_or_unknown_deployments_are_refused() -> None:
    assert run_cli("deploy", "checkout-api", "--version", "1.2.3", "-e", "production", "--dry-run").exit_code == 0
    (row,) = history()
    result = run_cli("resume", row["id"])
    assert result.exit_code == 2
    assert f"Deployment {row['id']} already finished (dry_run); there is nothing to resume." in result.output
    unknown = run_cli("resume", "dep-nothing")
    assert unknown.exit_code == 2 and "No deployment matches 'dep-nothing'" in unknown.output


def test_a_deploy_that_is_still_alive_is_refused_and_left_alone() -> None:
    with live_deploy("Observing metrics") as deployment_id:
        _, _, lock_before = store_view(deployment_id)
        for args in ((), ("--abort",), ("--force",)):
            result = run_cli("resume", deployment_id, *args)
            assert result.exit_code == 2, result.output
            assert f"Deployment {deployment_id} is still running: its process (pid" in result.output
        record, approval, lock = store_view(deployment_id)
        assert record is not None and record.status == "running" and approval is None
        assert lock is not None and lock_before is not None
        assert (lock.holder, lock.acquired_at) == (lock_before.holder, lock_before.acquired_at)
        assert fleet_snapshot()["canary"]
        store = Scratchpad.in_dir(Path(".runbook"))
        assert [e.kind for e in store.events(deployment_id)].count("deploy_started") == 1
        store.close()


def test_a_lock_held_from_another_host_needs_force() -> None:
    deployment_id = killed_deploy("Observing metrics")
    store = Scratchpad.in_dir(Path(".runbook"))
    lock = store.get_lock(LOCK_KEY)
    assert lock is not None
    # As if the dead deploy had run on another machine: its pid cannot be checked from here.
    store.acquire_lock(LOCK_KEY, "dev@build-7 (pid 4242)", deployment_id, lock.expires_at - timedelta(seconds=600), 600)
    store.close()
    refused = run_cli("resume", deployment_id, "--abort")
    assert refused.exit_code == 2 and "pass --force" in refused.output
    assert fleet_snapshot()["canary"]
    result = run_cli("resume", deployment_id, "--abort", "--force")
    assert result.exit_code == 0, result.output
    assert fleet_snapshot()["canary"] == [] and store_view(deployment_id)[2] is None


@pytest.mark.parametrize("text", ["Continue a deploy whose process died", "--abort", "--force"])
def test_resume_help_explains_it(text: str) -> None:
    result = run_cli("resume", "--help")
    assert result.exit_code == 0 and text in result.output
