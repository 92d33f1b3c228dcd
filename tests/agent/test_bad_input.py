"""Bad input ends in one clear sentence and its exit code, with no traceback and nothing changed."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from agent.runtime import open_runtime
from tests.agent.cli_support import fleet_snapshot, run_cli, sandbox_fleet
from tools.backend import target_for
from tools.config import load_config


def deploy(*args: str):  # type: ignore[no-untyped-def]
    return run_cli("deploy", *args)


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (("billing-api", "--version", "1.0.0", "-e", "production"), 2, "Unknown service 'billing-api'. Known services:"),
        (("checkout-api", "--version", "1.2.3", "-e", "qa"), 2, "Unknown environment 'qa'. Known environments:"),
        (("checkout-api", "--version", "1.2/3", "-e", "production"), 2, "'1.2/3' is not a valid version"),
        (("checkout-api", "--version", "1.2.2", "-e", "production"), 2, "checkout-api 1.2.2 is already running in production"),
        (("checkout-api", "--version", "9.9.9", "-e", "production"), 3,
         "Image registry.example.com/checkout-api:9.9.9 does not exist in the registry."),
        (("payments-api", "--version", "3.4.2", "-e", "production"), 3, "active alarm"),
        (("checkout-api", "--version", "1.2.3", "-e", "production", "--output", "xml"), 2, "'xml' is not one of 'auto', 'rich', 'plain', 'json'"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(args: tuple[str, ...], exit_code: int, message: str) -> None:
    service = args[0] if args[0] in ("checkout-api", "payments-api") else "checkout-api"
    before = fleet_snapshot(service)
    result = deploy(*args)
    assert result.exit_code == exit_code, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert fleet_snapshot(service) == before


def test_deploy_in_progress_names_the_holder() -> None:
    with open_runtime() as runtime:
        runtime.store.acquire_lock("checkout-api/production", "erin@build-7 (pid 4242)", "dep-other",
                                   runtime.wall.now(), 600)
    before = fleet_snapshot()
    result = deploy("checkout-api", "--version", "1.2.3", "-e", "production")
    assert result.exit_code == 3, result.output
    assert "Another deploy of checkout-api to production is in progress: dep-other, held by erin@build-7 (pid 4242) since" in result.output
    assert fleet_snapshot() == before


def test_missing_required_env_var_and_unreadable_secret_fail_config_validation() -> None:
    with sandbox_fleet() as backend:
        task_definition = backend.platform.current_task_definition(
            target_for(load_config(), "checkout-api", "production"))
        target_secret = next(iter(task_definition.secrets.values()))
        backend.platform.fleet.set_secret_readable(target_secret, False)  # type: ignore[attr-defined]
    Path("runbook.yaml").write_text(
        resources.files("tools.sandbox").joinpath("default_config.yaml").read_text()
        .replace("required_env: [DATABASE_URL, PAYMENTS_API_URL, LOG_LEVEL]",
                 "required_env: [DATABASE_URL, PAYMENTS_API_URL, LOG_LEVEL, FEATURE_FLAGS_URL]")
    )
    before = fleet_snapshot()
    result = deploy("checkout-api", "--version", "1.2.3", "-e", "production")
    assert result.exit_code == 3, result.output
    assert "✗ Missing required env vars: FEATURE_FLAGS_URL" in result.output
    assert "✗ 1 secret not readable" in result.output and target_secret in result.output
    assert "Step 3/6" not in result.output
    assert fleet_snapshot() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("environments: {prod: {cluster: p}}\nservices: {api: {image_repository: r, thresholds: {error_rate_percent: lots}}}\n",
         "services.api.thresholds.error_rate_percent: Input should be a valid number"),
        ("environments: {prod: {cluster: p}}\nservices: {}\ncolour: blue\n", "colour: unknown field"),
        ("services: {}\n", "environments: required field is missing"),
        ("environments: [\n", "not valid YAML"),
    ],
)
def test_bad_config_names_file_and_field(content: str, message: str) -> None:
    Path("runbook.yaml").write_text(content)
    result = deploy("api", "--version", "1.0.0", "-e", "prod")
    assert result.exit_code == 2
    assert result.output.startswith("Error: runbook.yaml: ")
    assert message in result.output
    assert "Traceback" not in result.output
    assert not Path(".runbook").exists()


def test_missing_config_file_given_explicitly() -> None:
    result = deploy("checkout-api", "--version", "1.2.3", "--config", "nowhere.yaml")
    assert result.exit_code == 2 and "nowhere.yaml: no such config file." in result.output


@pytest.mark.parametrize("command", [[], ["deploy"], ["rollback"], ["approve"], ["deny"], ["history"], ["sandbox"],
                                     ["sandbox", "reset"], ["sandbox", "demo"]])
def test_every_command_explains_itself(command: list[str]) -> None:
    result = run_cli(*command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output and len(result.output.splitlines()) > 5


def test_approve_with_nothing_pending_says_so() -> None:
    result = run_cli("approve", "dep-nope")
    assert result.exit_code == 12 and "No approval request found for deployment 'dep-nope'." in result.output
