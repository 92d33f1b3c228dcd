"""`runbook deploy` end to end on the sandbox: the seed's six steps, every outcome, every exit code."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from importlib import resources
from pathlib import Path

import pytest
import yaml

from memory.scratchpad import Scratchpad
from skills.events import parse_event
from tests.agent.cli_support import (
    RUNBOOK,
    canary_degrades_while_waiting,
    colleague,
    deciding,
    fleet_snapshot,
    recorded_deployments,
    run_cli,
)


def deploy(*extra: str, version: str = "1.2.3", service: str = "checkout-api"):  # type: ignore[no-untyped-def]
    return run_cli("deploy", service, "--version", version, "--environment", "production", *extra)


def history_rows() -> list[dict]:
    return recorded_deployments()


def test_successful_deploy_follows_the_seed_and_changes_the_fleet() -> None:
    with deciding("approve", "alice"):
        result = deploy()
    assert result.exit_code == 0, result.output
    out = result.output
    seed_lines = [
        "Deploying checkout-api v1.2.3", "Environment: production",
        "Step 1/6: Pre-deployment Checks", "✓ Service found: checkout-api (sandbox ECS, prod cluster)",
        "✓ Current version: 1.2.2", "Running: 10 tasks, all healthy", "✓ Image exists: registry.example.com/checkout-api:1.2.3",
        "✓ No active incidents affecting checkout-api", "✓ No deployments in progress", "✓ Rollback target: 1.2.2 (healthy)",
        "All pre-deployment checks passed ✓",
        "Step 2/6: Validate Configuration", "├─ Image: 1.2.2 → 1.2.3", "✓ All required env vars present",
        "✓ All secrets accessible", "✓ Health check endpoint: /health", "Configuration validated ✓",
        "Step 3/6: Canary Deployment (10%)", "✓ Task definition: checkout-api:45",
        "Deploying canary (1 of 11 tasks, ~9% of traffic)", "Check 3/3: ✓ Healthy", "Canary Metrics",
        "? Verdict: inconclusive after 60s", "To show it healthy: about", "To catch a 2x regression: about",
        "Canary not shown unhealthy after 60s (inconclusive)",
        "Step 4/6: Request Approval", "APPROVAL REQUIRED", "Risk Level: HIGH", "Verdict: inconclusive after 60s",
        "Approving before a verdict is an override",
        "✓ Approved by @alice at", "(override: the canary was inconclusive)",
        "Step 5/6: Full Rollout", "├─ Old tasks: 10 → 8 → 5 → 2 → 0", "✓ Old tasks drained", "✓ All 10 tasks healthy",
        "Full rollout complete ✓",
        "Step 6/6: Post-deployment Validation", "Post-Deployment Metrics", "Post-deployment validation passed ✓",
        "DEPLOYMENT SUCCESSFUL", "Version: 1.2.2 → 1.2.3", "Improvements Observed:",
        "runbook deploy checkout-api --version 1.2.2", "Deployment logged to scratchpad.",
    ]
    position = 0
    for line in seed_lines:
        found = out.find(line, position)
        assert found >= 0, f"missing or out of order: {line!r}"
        position = found
    assert "\x1b[" not in out
    after = fleet_snapshot()
    assert after["version"] == "1.2.3" and after["canary"] == [] and after["revision"] == 45
    (row,) = history_rows()
    assert row["status"] == "succeeded" and row["requester"] == "dev" and row["approver"] == "alice"
    assert row["from_version"] == "1.2.2" and row["image_digest"].startswith("sha256:")
    assert row["metrics_after"]["error_rate_percent"] < row["metrics_before"]["error_rate_percent"]


def test_every_step_and_check_is_in_the_scratchpad() -> None:
    with deciding("approve"):
        assert deploy().exit_code == 0
    (row,) = history_rows()
    store = Scratchpad.in_dir(Path(".runbook"))
    kinds = [e.kind for e in store.events(row["id"])]
    store.close()
    assert kinds[0] == "deploy_started" and kinds[-1] == "deploy_finished"
    assert kinds.count("step_started") == 6 and "approval_requested" in kinds and "approval_decided" in kinds


def test_bad_canary_is_removed_and_nothing_else_changes() -> None:
    before = fleet_snapshot()
    result = deploy(version="1.2.5")
    assert result.exit_code == 4, result.output
    assert re.search(r"Canary unhealthy after \d+s observation ✗", result.output)  # as soon as it is shown
    # caught on latency: above the 500 ms limit, or slower than the stable (whichever is shown first)
    assert re.search(r"Latency( p99 is credibly above the 500ms threshold|: [\d.]+% of canary requests were slower)",
                     result.output), result.output
    assert "CANARY FAILED — DEPLOYMENT ABORTED" in result.output
    after = fleet_snapshot()
    assert after["canary"] == [] and after["version"] == "1.2.2"
    assert after["tasks"] == before["tasks"]


@pytest.mark.parametrize(("flags", "exit_code", "version_after"), [(("--auto-rollback",), 6, "1.2.2"), ((), 7, "1.2.4")])
def test_degrading_release_fails_validation(flags: tuple[str, ...], exit_code: int, version_after: str) -> None:
    with deciding("approve"):
        result = deploy(*flags, version="1.2.4")
    assert result.exit_code == exit_code, result.output
    assert "Canary not shown unhealthy after 60s" in result.output
    assert "Post-deployment validation failed ✗" in result.output
    assert "(degraded)" in result.output
    assert fleet_snapshot()["version"] == version_after
    if flags:
        assert "Initiating automatic rollback..." in result.output and "✓ Rollback complete" in result.output
        assert "Version: 1.2.4 → 1.2.2 (rolled back)" in result.output
    else:
        assert "runbook deploy checkout-api --version 1.2.2" in result.output
        assert "checkout-api 1.2.4 is still running in production." in result.output


def test_denial_removes_the_canary() -> None:
    with deciding("deny", "carol", "checkout-api", "production", "--reason", "freeze"):
        result = deploy()
    assert result.exit_code == 5, result.output
    assert "✗ Denied by @carol" in result.output and "freeze" in result.output
    after = fleet_snapshot()
    assert after["canary"] == [] and after["version"] == "1.2.2"
    assert history_rows()[0]["status"] == "denied"


def test_expired_request_aborts_and_removes_the_canary() -> None:
    config = yaml.safe_load(resources.files("tools.sandbox").joinpath("default_config.yaml").read_text())
    config["environments"]["production"]["approval"]["expires_after_seconds"] = 4
    Path("runbook.yaml").write_text(yaml.safe_dump(config))
    result = deploy()
    assert result.exit_code == 5, result.output
    assert "✗ Approval expired at" in result.output and "APPROVAL EXPIRED" in result.output
    assert fleet_snapshot()["canary"] == []
    assert history_rows()[0]["status"] == "expired"


def test_requester_cannot_approve_their_own_production_deploy() -> None:
    own = colleague("approve", "--service", "checkout-api", "--environment", "production", "--wait", "60", user="dev")
    outputs: list[str] = []

    def deny_after_self_approval_was_refused() -> None:
        outputs.append(own.communicate(timeout=60)[0])
        denier = colleague("deny", "--service", "checkout-api", "--environment", "production", "--wait", "60",
                           "--reason", "test over", user="carol")
        denier.wait(timeout=60)

    thread = threading.Thread(target=deny_after_self_approval_was_refused)
    thread.start()
    result = deploy()
    thread.join(timeout=60)
    assert own.returncode == 13  # refused by the policy
    assert "dev (simulated) requested this production deploy and cannot approve it" in outputs[0]
    assert result.exit_code == 5, result.output
    assert "Denied by @carol" in result.output


def test_dry_run_changes_nothing() -> None:
    before = fleet_snapshot()
    result = deploy("--dry-run")
    assert result.exit_code == 0, result.output
    assert "DRY RUN — NOTHING CHANGED" in result.output and "Step 3/6" not in result.output
    assert "Canary: 1 of 11 tasks, ~9% of traffic, 3 health checks, then judged against the stable" in result.output
    assert fleet_snapshot() == before


def test_json_output_is_one_event_per_line() -> None:
    result = deploy("--dry-run", "--output", "json")
    assert result.exit_code == 0
    events = [parse_event(line) for line in result.output.splitlines()]
    assert events[0].kind == "deploy_started" and events[-1].kind == "deploy_finished"
    assert all(e.deployment_id == events[0].deployment_id for e in events)


def test_rollback_goes_back_to_the_previous_version() -> None:
    with deciding("approve"):
        first = deploy()
    assert first.exit_code == 0, first.output
    with deciding("approve"):
        result = run_cli("rollback", "checkout-api", "--environment", "production")
    assert result.exit_code == 0, result.output
    assert "Deploying checkout-api v1.2.2" in result.output
    assert fleet_snapshot()["version"] == "1.2.2"
    assert history_rows()[0]["kind"] == "rollback"


def test_rollback_without_history_says_what_to_do() -> None:
    result = run_cli("rollback", "checkout-api", "--environment", "production")
    assert result.exit_code == 2
    assert "--to VERSION" in result.output


def test_canary_that_degrades_while_waiting_for_approval_aborts(monkeypatch: pytest.MonkeyPatch) -> None:
    # Stand-in: after the canary passed, the canary's metrics turn bad while nobody has decided yet.
    canary_degrades_while_waiting(monkeypatch)
    result = deploy()
    assert result.exit_code == 4, result.output
    assert "Approval aborted: canary degraded while waiting" in result.output
    after = fleet_snapshot()
    assert after["canary"] == [] and after["version"] == "1.2.2"
    assert history_rows()[0]["status"] == "canary_failed"


@pytest.mark.parametrize(("signum", "code", "status", "headline"), [
    (signal.SIGINT, 130, "interrupted", "DEPLOYMENT INTERRUPTED"),
    (signal.SIGTERM, 143, "terminated", "DEPLOYMENT STOPPED (SIGTERM)"),
    (signal.SIGHUP, 129, "hung_up", "DEPLOYMENT STOPPED (SIGHUP)"),
])
def test_a_signal_during_the_canary_removes_it_and_releases_the_lock(signum: int, code: int, status: str,
                                                                     headline: str) -> None:
    env = os.environ | {"RUNBOOK_TIME_SCALE": "20"}  # slow enough to stop mid-canary
    process = subprocess.Popen(RUNBOOK + ["deploy", "checkout-api", "--version", "1.2.3", "-e", "production"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if "Observing metrics" in line:
            process.send_signal(signum)
            break
    output = "".join(seen) + process.communicate(timeout=60)[0]
    assert process.returncode == code, output
    assert headline in output and "Traceback" not in output
    assert fleet_snapshot()["canary"] == []
    row = history_rows()[0]
    assert row["status"] == status
    store = Scratchpad.in_dir(Path(".runbook"))
    assert store.get_lock("checkout-api/production") is None
    store.close()


def test_sigterm_while_waiting_for_approval_withdraws_the_request() -> None:
    process = subprocess.Popen(RUNBOOK + ["deploy", "checkout-api", "--version", "1.2.3", "-e", "production"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if "Waiting for approval" in line:
            process.send_signal(signal.SIGTERM)
            break
    output = "".join(seen) + process.communicate(timeout=60)[0]
    assert process.returncode == 143, output
    row = history_rows()[0]
    store = Scratchpad.in_dir(Path(".runbook"))
    try:
        request = store.approval_for_deployment(row["id"])
        assert request is not None and request.status == "aborted" and "SIGTERM" in request.reason
        assert store.get_lock("checkout-api/production") is None
    finally:
        store.close()
    assert row["status"] == "terminated" and fleet_snapshot()["canary"] == []
