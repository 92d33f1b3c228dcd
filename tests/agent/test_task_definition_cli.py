"""`runbook deploy SERVICE --task-definition PATH` on the sandbox, through the CLI: the team's task-definition
file is what gets deployed, step 2 shows what it changes by name (secrets by reference, never values), the
required env vars and secrets are checked on it, and a file runbook cannot deploy is one sentence with
nothing changed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.agent.cli_support import deciding, fleet_snapshot, recorded_deployments, run_cli, sandbox_fleet
from tools.backend import target_for
from tools.config import load_config

NEW_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/checkout-api/db-password-v2-9a8b7c"


def definition(**changes: Any) -> dict[str, Any]:
    """checkout-api's task definition as a team keeps it in its repository, with 1.2.3 and `changes`."""
    app = {
        "name": "app",
        "image": "registry.example.com/checkout-api:1.2.3",
        "essential": True,
        "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
        "environment": [
            {"name": "DATABASE_URL", "value": "postgres://checkout@checkout-db.prod.internal:5432/checkout"},
            {"name": "PAYMENTS_API_URL", "value": "http://payments-api.prod.internal"},
            {"name": "LOG_LEVEL", "value": "debug"},
            {"name": "FEATURE_FAST_CHECKOUT", "value": "on"},
        ],
        "secrets": [{"name": "DB_PASSWORD", "valueFrom": NEW_SECRET}],
        "healthCheck": {"command": ["CMD-SHELL", "curl -fsS http://localhost:8080/health || exit 1"], "interval": 30},
    } | changes.pop("app", {})
    return {"family": "checkout-api", "cpu": "256", "memory": "1024", "containerDefinitions": [app]} | changes


def write(data: Any, name: str = "checkout-api.json") -> Path:
    path = Path("deploy") / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2))
    return path


def deploy(path: Path, *flags: str) -> Any:
    return run_cli("deploy", "checkout-api", "--task-definition", str(path), "-e", "production", *flags)


def readable(reference: str) -> None:
    with sandbox_fleet() as backend:
        backend.platform.fleet.set_secret_readable(reference, True)  # type: ignore[attr-defined]


def test_the_files_definition_is_deployed_and_its_diff_shown() -> None:
    readable(NEW_SECRET)
    path = write(definition())
    with deciding("approve", "alice"):
        result = deploy(path)
    assert result.exit_code == 0, result.output
    out = result.output
    for line in ("Image: 1.2.2 → 1.2.3", "Memory: 512 MB → 1024 MB", "CPU: 256 units (unchanged)",
                 "Env FEATURE_FAST_CHECKOUT: (none) → set", "Env LOG_LEVEL: set → changed",
                 f"Secret DB_PASSWORD: arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/checkout-api/"
                 f"db-password-4f687a → {NEW_SECRET}", "Ports: (none) → 8080/tcp"):
        assert line in out, line + "\n" + out
    assert "debug" not in out and "postgres://" not in out  # env values are not printed either
    assert "Health check:" not in out  # unchanged: not listed
    after = fleet_snapshot()
    assert after["version"] == "1.2.3" and after["revision"] == 45
    target = target_for(load_config(), "checkout-api", "production")
    with sandbox_fleet() as backend:
        deployed = backend.platform.task_definition(target, 45)
    assert deployed.memory_mb == 1024 and deployed.environment["FEATURE_FAST_CHECKOUT"] == "on"
    assert deployed.secrets == {"DB_PASSWORD": NEW_SECRET}


def test_required_env_and_secrets_are_checked_on_the_new_definition() -> None:
    before = fleet_snapshot()
    app = definition()["containerDefinitions"][0]
    app["environment"] = [e for e in app["environment"] if e["name"] != "PAYMENTS_API_URL"]
    path = write(definition(app=app))
    for flags in ((), ("--dry-run",)):
        result = deploy(path, *flags)
        assert result.exit_code == 3, result.output
        out = " ".join(result.output.split())
        assert "Missing required env vars: PAYMENTS_API_URL" in out and "deploy/checkout-api.json does not set them" in out
        assert f"DB_PASSWORD ({NEW_SECRET}): ResourceNotFoundException" in out  # its new secret, not the running one
        assert fleet_snapshot() == before


def test_the_version_comes_from_the_file_and_must_agree_with_version() -> None:
    readable(NEW_SECRET)
    path = write(definition())
    result = deploy(path, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Register deploy/checkout-api.json as a new task-definition revision" in result.output
    refused = deploy(path, "--version", "1.2.4")
    assert refused.exit_code == 2
    assert "container app runs 1.2.3, not --version 1.2.4" in refused.output


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "not valid JSON at line 1"),
    ("[1, 2]", "expected a JSON object (a task definition), got list"),
    (definition(revision=7, status="ACTIVE"), "revision, status are not part of a task definition"),
    (definition(containerDefinitions=[]), "containerDefinitions must list at least one container"),
    (definition(app={"image": "docker.io/someone/else:1.2.3"}), "but checkout-api deploys images of registry.example.com/checkout-api"),
    (definition(app={"image": "registry.example.com/checkout-api@sha256:" + "0" * 64}), "names no tag"),
    (definition(containerDefinitions=[{"name": "log-router", "image": "fluent-bit:2"}, {"name": "web", "image": "x:1"}]),
     "has no container 'app' (it has log-router, web)"),
])
def test_a_file_runbook_cannot_deploy_is_one_sentence_and_changes_nothing(content: Any, message: str) -> None:
    before = fleet_snapshot()
    result = deploy(write(content))
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert fleet_snapshot() == before
    assert recorded_deployments() == []  # no deployment was even recorded


def test_a_missing_file_and_a_missing_version_are_one_sentence() -> None:
    missing = deploy(Path("deploy/nope.json"))
    assert missing.exit_code == 2 and "deploy/nope.json: no such task-definition file." in missing.output
    neither = run_cli("deploy", "checkout-api", "-e", "production")
    assert neither.exit_code == 2 and "--version 1.2.3) or a task-definition file" in neither.output
