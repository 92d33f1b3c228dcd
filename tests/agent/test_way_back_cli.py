"""Always a way back, end to end on the sandbox: after a deploy that went wrong, its rollback goes to what
ran before it and is not stopped by the alarms that deploy raised."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from tests.agent.cli_support import deciding, fleet_snapshot, run_cli, sandbox_fleet
from tools.sandbox.fleet import find_service_named


def deploy(version: str, *extra: str):  # type: ignore[no-untyped-def]
    with deciding("approve", "alice"):
        return run_cli("deploy", "checkout-api", "--version", version, "--environment", "production", *extra)


def history_rows() -> list[dict]:
    return [json.loads(line) for line in run_cli("history", "--output", "json").output.splitlines()]


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
