"""What `runbook ask` answers offline, end to end: the outcome of a change and its reason, the deploy's own
steps as it runs, the exit code, and the answers to requests it must not (or cannot yet) carry out."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources
from pathlib import Path

import yaml

from agent.runtime import open_runtime
from memory.records import DeploymentRecord
from tests.agent.cli_support import deciding, fleet_snapshot, run_cli
from tools.config import sandbox_default_config


def _deployments() -> list[DeploymentRecord]:
    with open_runtime() as runtime:
        return runtime.store.list_deployments(limit=20)


def test_a_denied_deploy_streams_its_steps_and_exits_as_the_deploy_did() -> None:
    with deciding("deny", "carol", "checkout-api", "production", "--reason", "change freeze"):
        result = run_cli("ask", "deploy checkout-api 1.2.3 to production")
    assert result.exit_code == 5, result.output
    out = result.output
    [deployment] = _deployments()
    # the deploy's own view comes first: its id, then how to approve, then the outcome; the answer last
    assert out.index(deployment.id) < out.index("runbook approve") < out.index("Denied by @carol")
    assert "denied by carol: change freeze" in out.rsplit("\n\n", 1)[-1]
    assert fleet_snapshot()["version"] == "1.2.2"


def test_an_expired_approval_is_expired_not_denied() -> None:
    config = yaml.safe_load(resources.files("tools.sandbox").joinpath("default_config.yaml").read_text())
    config["environments"]["production"]["approval"]["expires_after_seconds"] = 4
    Path("runbook.yaml").write_text(yaml.safe_dump(config))
    result = run_cli("ask", "deploy checkout-api 1.2.3 to production")
    assert result.exit_code == 5, result.output
    answer = result.output.rsplit("\n\n", 1)[-1]
    assert ": expired — nobody decided before the approval request expired" in answer and "denied" not in answer


def test_a_refused_deploy_says_why() -> None:
    result = run_cli("ask", "deploy checkout-api 1.2.2 to production")  # 1.2.2 already runs there
    assert result.exit_code == 2, result.output
    assert "refused — checkout-api 1.2.2 is already running in production; nothing to deploy." in result.output


def test_a_compound_request_answers_the_read_part_and_starts_no_change() -> None:
    before = fleet_snapshot()
    result = run_cli("ask", "show the status of checkout-api and then deploy checkout-api 1.2.4")
    assert result.exit_code == 0, result.output
    assert "checkout-api (production): 1.2.2, 10/10 tasks healthy" in result.output
    assert "Not started: deploy checkout-api 1.2.4 to production" in result.output
    assert _deployments() == [] and fleet_snapshot() == before


def test_a_request_to_get_around_a_gate_changes_nothing() -> None:
    before = fleet_snapshot()
    for text in ("deploy checkout-api 1.2.4 and skip the canary", "approve dep-123", "force deploy checkout 1.2.5"):
        result = run_cli("ask", text)
        assert result.exit_code == 2 and "never by me" in result.output, result.output  # refused: nothing ran
    assert _deployments() == [] and fleet_snapshot() == before


def test_an_unknown_service_is_named_with_the_known_ones() -> None:
    result = run_cli("ask", "is billing-api healthy?")
    assert "I don't know a service called 'billing-api'" in result.output
    assert all(name in result.output for name in sandbox_default_config().services)


def test_a_deploy_without_a_version_lists_the_registrys_recent_tags() -> None:
    result = run_cli("ask", "deploy checkout to staging")
    assert result.exit_code == 0 and _deployments() == []  # asked back, with the tags it looked up
    assert "Which version of checkout-api should I deploy to staging?" in result.output
    assert "1.2.5" in result.output and "1.2.4" in result.output and "Running: 1.2.2 in production" in result.output


def test_history_honours_time_words() -> None:
    with open_runtime() as runtime:
        now = runtime.backend("production").clock.now()
        for days, version in ((3, "1.2.1"), (0, "1.2.2")):
            runtime.store.record_deployment(DeploymentRecord(
                id=f"dep-old{days}", service="checkout-api", environment="production", from_version="1.2.0",
                to_version=version, requester="dev", started_at=now - timedelta(days=days, hours=1)))
    result = run_cli("ask", "what did we deploy yesterday?", "--verbose")
    assert "since_minutes=1440" in result.output
    assert "dep-old0" in result.output and "dep-old3" not in result.output


def test_a_rollback_with_nothing_to_go_back_to_exits_as_runbook_rollback_does() -> None:
    result = run_cli("ask", "roll back payments-api in staging")
    assert result.exit_code == 2, result.output
    assert "No deploy on record put payments-api 3.4.2 (revision 131) in place in staging" in result.output
