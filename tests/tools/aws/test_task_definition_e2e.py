"""`runbook deploy --task-definition PATH` against a moto server through the CLI: the file's definition is what
ECS runs afterwards, step 2 shows its real diff against the running revision (never a secret's value), and a
definition missing a required env var is refused before anything is registered."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.tools.aws import test_deploy_e2e as e2e
from tests.tools.aws.test_deploy_e2e import Scheduler, colleague_approves
from tests.tools.aws.world import ACCOUNT, CLUSTER, REPO_HOST, SERVICE, World

server, world = e2e.server, e2e.world


def definition(built: World, drop: str | None = None) -> dict[str, Any]:
    """What the team keeps in deploy/checkout-api.json: 1.2.3, twice the memory, a new flag, the database
    password read from a JSON key of its secret."""
    env = [{"name": "LOG_LEVEL", "value": "info"}, {"name": "PAYMENTS_API_URL", "value": "x"},
           {"name": "FEATURE_FAST_CHECKOUT", "value": "on"}]
    secrets = [{"name": "DATABASE_URL", "valueFrom": f"{built.secret_arn}:password::"},
               {"name": "API_KEY", "valueFrom": "/prod/checkout/api-key"}]
    return {
        "family": SERVICE, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "512",
        "memory": "2048", "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/exec",
        "containerDefinitions": [{
            "name": "app", "image": f"{REPO_HOST}/{SERVICE}:1.2.3", "memory": 2048, "essential": True,
            "portMappings": [{"containerPort": 8080}],
            "environment": [e for e in env if e["name"] != drop],
            "secrets": [s for s in secrets if s["name"] != drop],
            "healthCheck": {"command": ["CMD-SHELL", "curl -f localhost:8080/health"], "interval": 15},
        }],
    }


def deploy(path: Path, *flags: str) -> Any:
    from typer.testing import CliRunner

    from agent.cli import app

    return CliRunner().invoke(app, ["deploy", SERVICE, "--task-definition", str(path), "--environment",
                                    "production", "--output", "plain", *flags])


def test_a_task_definition_file_is_deployed_with_its_diff(world: World, tmp_path: Path) -> None:
    path = tmp_path / "checkout-api.json"
    path.write_text(json.dumps(definition(world)))
    approver = colleague_approves(tmp_path)
    with Scheduler(world):
        result = deploy(path)
    approver.communicate(timeout=60)
    assert result.exit_code == 0, result.output
    out = result.output
    for line in ("Image: 1.2.2 → 1.2.3", "Memory: 1024 MB → 2048 MB", "Env FEATURE_FAST_CHECKOUT: (none) → set",
                 f"Secret DATABASE_URL: {world.secret_arn} → {world.secret_arn}:password::"):
        assert line in out, line + "\n" + out
    assert "All secrets accessible" in out and "s3cret" not in out
    svc = world.ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
    assert svc["taskDefinition"] == world.revision(2)
    deployed = world.ecs.describe_task_definition(taskDefinition=world.revision(2), include=["TAGS"])
    app = deployed["taskDefinition"]["containerDefinitions"][0]
    assert deployed["taskDefinition"]["memory"] == "2048"
    assert {"name": "FEATURE_FAST_CHECKOUT", "value": "on"} in app["environment"]
    assert deployed["tags"] == [{"key": "team", "value": "payments"}]  # the running revision's tags kept


def test_a_definition_without_a_required_env_var_registers_nothing(world: World, tmp_path: Path) -> None:
    path = tmp_path / "checkout-api.json"
    path.write_text(json.dumps(definition(world, drop="LOG_LEVEL")))
    result = deploy(path)
    assert result.exit_code == 3, result.output
    out = " ".join(result.output.split())
    assert "Missing required env vars: LOG_LEVEL" in out and f"{path} does not set them" in out
    assert world.ecs.list_task_definitions(familyPrefix=SERVICE)["taskDefinitionArns"] == [world.revision(1)]
    assert world.canaries(active=False) == []
