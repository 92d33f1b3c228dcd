"""Always a way back, end to end on the sandbox: after a deploy that went wrong, its rollback goes to what
ran before it and is not stopped by the alarms that deploy raised."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.agent.cli_support import deciding, fleet_snapshot, recorded_deployments, run_cli, sandbox_fleet
from tests.agent.deploy_processes import killed_deploy
from tools.backend import BackendError, target_for
from tools.config import load_config
from tools.sandbox.fleet import find_service_named


def deploy(version: str, *extra: str):  # type: ignore[no-untyped-def]
    with deciding("approve", "alice"):
        return run_cli("deploy", "checkout-api", "--version", version, "--environment", "production", *extra)


def history_rows() -> list[dict]:
    return recorded_deployments()


def printed_rollback_command(output: str) -> list[str]:
    lines = output.splitlines()
    command = lines[lines.index("Rollback Command:") + 1].split()
    assert command[0] == "runbook", command
    return command[1:]


def test_the_printed_rollback_command_after_exit_7_goes_back_through_the_bad_versions_alarms() -> None:
    failed = deploy("1.2.4")
    assert failed.exit_code == 7, failed.output
    command = printed_rollback_command(failed.output)
    assert command == ["deploy", "checkout-api", "--version", "1.2.2"]
    status = run_cli("status", "checkout-api", "--environment", "production")
    assert "alarms: checkout-api-5xx-rate" in status.output  # raised by 1.2.4 itself

    with deciding("approve", "alice"):
        back = run_cli(*command)
    assert back.exit_code == 0, back.output
    assert "this deploy is its rollback" in back.output
    assert "Alarms firing on checkout-api do not stop this rollback" in back.output
    assert "checkout-api-5xx-rate: raised since" in back.output
    assert "✓ Approved by @alice" in back.output  # a rollback still goes through its gates
    assert fleet_snapshot()["version"] == "1.2.2"
    status = run_cli("status", "checkout-api", "--environment", "production")
    assert "checkout-api (production): 1.2.2" in status.output, status.output
    assert history_rows()[0]["kind"] == "rollback"


def test_runbook_rollback_after_a_failed_deploy_targets_the_version_that_ran_before_it() -> None:
    assert deploy("1.2.3").exit_code == 0
    assert deploy("1.2.4").exit_code == 7
    with deciding("approve", "alice"):
        back = run_cli("rollback", "checkout-api", "--environment", "production")
    assert back.exit_code == 0, back.output
    assert "Deploying checkout-api v1.2.3" in back.output  # not 1.2.2, the last success's from_version
    assert fleet_snapshot()["version"] == "1.2.3"
    row = history_rows()[0]
    assert row["kind"] == "rollback" and row["from_version"] == "1.2.4" and row["to_version"] == "1.2.3"


def alarm_firing_since(name: str, since: datetime) -> None:
    """An alarm of checkout-api in ALARM since `since` (sandbox-only: its state forced, its start set)."""
    with sandbox_fleet() as backend:
        fleet = backend.platform.fleet  # type: ignore[attr-defined]
        fleet.set_alarm("prod", "checkout-api", name, "ALARM", "Threshold Crossed: 95 connections")
        with fleet.change() as state:
            alarms = find_service_named(state, "prod", "checkout-api").alarms
            next(a for a in alarms if a.name == name).forced_since = since


def test_an_alarm_firing_before_the_bad_deploy_still_stops_its_rollback_and_names_the_override() -> None:
    assert deploy("1.2.4").exit_code == 7
    bad_deploy = history_rows()[0]
    alarm_firing_since("checkout-api-db-connections", datetime.fromisoformat(bad_deploy["started_at"]) - timedelta(minutes=5))

    refused = run_cli("rollback", "checkout-api", "--environment", "production")
    assert refused.exit_code == 3, refused.output
    assert (f"1 alarm on checkout-api fired before deploy {bad_deploy['id']} (1.2.4) started:"
            " checkout-api-db-connections;") in refused.output  # not 1.2.4's own alarms
    assert "runbook rollback checkout-api --to 1.2.2 --despite-alarms" in refused.output
    assert fleet_snapshot()["version"] == "1.2.4"

    with deciding("approve", "alice"):
        back = run_cli("rollback", "checkout-api", "--environment", "production", "--despite-alarms")
    assert back.exit_code == 0, back.output
    assert "checkout-api-db-connections: overridden (--despite-alarms)" in back.output
    assert fleet_snapshot()["version"] == "1.2.2"


@pytest.mark.parametrize("until", ["Deployment Progress:", "Monitoring for"])
def test_resume_abort_after_the_rollout_began_puts_the_stable_version_back(until: str) -> None:
    with deciding("approve", "alice"):  # killed mid-rollout (left rolling) or mid-validation (1.2.3 running)
        deployment_id = killed_deploy(until)
    assert fleet_snapshot()["version"] == "1.2.3" or until == "Deployment Progress:"

    closed = run_cli("resume", deployment_id, "--abort")
    assert closed.exit_code == 0, closed.output
    assert "✓ Rollback complete" in closed.output and "Version: 1.2.3 → 1.2.2 (rolled back)" in closed.output
    assert "DEPLOYMENT ABANDONED" in closed.output
    after = fleet_snapshot()
    assert after["version"] == "1.2.2" and after["canary"] == [] and after["revision"] == 44
    row = history_rows()[0]
    assert row["id"] == deployment_id and row["status"] == "abandoned"
    status = run_cli("status", "checkout-api", "--environment", "production")
    assert "checkout-api (production): 1.2.2, 10/10 tasks healthy" in status.output, status.output


def credentials_expire_in_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stand-in for an AWS error past the rollout's start: the credentials expire once validation begins."""
    from skills.deploy import graph

    def expired(*args: object) -> None:
        raise BackendError("ExpiredTokenException: the security token included in the request is expired")

    monkeypatch.setattr(graph, "run_validation", expired)


def test_an_aws_error_after_the_rollout_began_says_what_is_live_and_how_to_go_back(
        monkeypatch: pytest.MonkeyPatch) -> None:
    credentials_expire_in_validation(monkeypatch)
    failed = deploy("1.2.3")
    assert failed.exit_code == 1, failed.output
    assert "ExpiredTokenException" in failed.output
    assert "checkout-api 1.2.3 is live in production, not validated; 1.2.2 ran before it." in failed.output
    assert printed_rollback_command(failed.output) == ["deploy", "checkout-api", "--version", "1.2.2"]
    assert "the canary was removed" in failed.output
    after = fleet_snapshot()
    assert after["version"] == "1.2.3" and after["canary"] == []


def test_auto_rollback_rolls_back_after_an_aws_error_past_the_rollouts_start(monkeypatch: pytest.MonkeyPatch) -> None:
    credentials_expire_in_validation(monkeypatch)
    failed = deploy("1.2.3", "--auto-rollback")
    assert failed.exit_code == 6, failed.output
    assert "✓ Rollback complete" in failed.output and "Version: 1.2.3 → 1.2.2 (rolled back)" in failed.output
    assert "is live in production" not in failed.output
    after = fleet_snapshot()
    assert after["version"] == "1.2.2" and after["canary"] == []
    assert history_rows()[0]["status"] == "validation_failed_rolled_back"


def test_a_canary_that_cannot_be_removed_is_named_with_the_command_that_removes_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from skills.deploy import canary
    from tools.sandbox.platform import SandboxPlatform

    def expired(*args: object, **kwargs: object) -> None:
        raise BackendError("ExpiredTokenException: the security token included in the request is expired")

    def expire_now(*args: object, **kwargs: object) -> None:  # mid-canary: every later call is refused
        monkeypatch.setattr(SandboxPlatform, "remove_canary", expired)
        monkeypatch.setattr(SandboxPlatform, "describe_service", expired)
        expired()

    judge, remove, describe = canary.judge_now, SandboxPlatform.remove_canary, SandboxPlatform.describe_service
    monkeypatch.setattr(canary, "judge_now", expire_now)
    failed = run_cli("deploy", "checkout-api", "--version", "1.2.3", "--environment", "production")
    assert failed.exit_code == 1, failed.output
    deployment_id = history_rows()[0]["id"]
    assert (f"The canary of {deployment_id} is still running in checkout-api (production): it could not be removed"
            " (ExpiredTokenException") in failed.output
    assert f"`runbook resume {deployment_id} --abort` removes it." in failed.output
    assert "canary was removed" not in failed.output and "is live" not in failed.output
    assert "whether the rollout" not in failed.output  # never reached: the checkpoint says so
    monkeypatch.setattr(SandboxPlatform, "describe_service", describe)  # to look, as the person would
    assert fleet_snapshot()["canary"] and history_rows()[0]["status"] == "failed"

    monkeypatch.setattr(canary, "judge_now", judge)  # the credentials are renewed
    monkeypatch.setattr(SandboxPlatform, "remove_canary", remove)
    removed = run_cli("resume", deployment_id, "--abort")
    assert removed.exit_code == 0, removed.output
    assert fleet_snapshot()["canary"] == [] and fleet_snapshot()["version"] == "1.2.2"


def test_a_rollback_puts_back_the_configuration_the_previous_version_ran_with() -> None:
    from tests.agent.test_task_definition_cli import NEW_SECRET, definition, readable, write

    readable(NEW_SECRET)
    with sandbox_fleet() as backend:
        before = backend.platform.current_task_definition(target_for(load_config(), "checkout-api", "production"))
    with deciding("approve", "alice"):
        shipped = run_cli("deploy", "checkout-api", "--task-definition", str(write(definition())), "-e", "production")
    assert shipped.exit_code == 0, shipped.output

    with deciding("approve", "alice"):
        back = run_cli("rollback", "checkout-api", "--environment", "production")
    assert back.exit_code == 0, back.output
    assert "Env FEATURE_FAST_CHECKOUT: set → (none)" in back.output and "Memory: 1024 MB → 512 MB" in back.output
    with sandbox_fleet() as backend:
        after = backend.platform.current_task_definition(target_for(load_config(), "checkout-api", "production"))
    assert after.version == "1.2.2" and after.revision == 46
    assert (after.environment, after.secrets, after.cpu, after.memory_mb) == (
        before.environment, before.secrets, before.cpu, before.memory_mb)


def test_a_rollback_to_a_tag_pushed_again_since_it_ran_is_refused() -> None:
    assert deploy("1.2.3").exit_code == 0
    ran = history_rows()[0]["image_digest"]
    assert deploy("1.2.4").exit_code == 7
    with sandbox_fleet() as backend:
        pushed = backend.platform.fleet.push_image(  # type: ignore[attr-defined]
            "registry.example.com/checkout-api", "1.2.3", build="rebuilt")
    refused = run_cli("rollback", "checkout-api", "--environment", "production")
    assert refused.exit_code == 3, refused.output
    assert (f"registry.example.com/checkout-api:1.2.3 was pushed again since it last ran here: it names"
            f" {pushed.digest} now, {ran} then") in refused.output
    assert fleet_snapshot()["version"] == "1.2.4"
