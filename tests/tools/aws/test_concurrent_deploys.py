"""Two engineers deploy one ECS service at once, from two working directories with two separate runbook
databases, against one moto server: the second deploy is refused at its pre-checks, before it creates
anything, and the first one's canary is left exactly as it was."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tests.agent.deploy_processes import run_until
from tests.tools.aws import test_deploy_e2e as e2e
from tests.tools.aws.conftest import ecs_config
from tests.tools.aws.test_deploy_e2e import Scheduler
from tests.tools.aws.world import CLUSTER, SERVICE, World

server, world = e2e.server, e2e.world

RUNBOOK = [sys.executable, "-c", "from agent.cli import main; main()"]
DEPLOY = ["deploy", SERVICE, "--version", "1.2.3", "--environment", "production", "--output", "plain"]


def checkout(path: Path) -> Path:
    path.mkdir()
    (path / "runbook.yaml").write_text(yaml.safe_dump(ecs_config()))
    return path


def deploy_until(cwd: Path, until: str) -> tuple[subprocess.Popen[str], str]:
    return run_until(RUNBOOK + DEPLOY, until, cwd=cwd, env=os.environ | {"RUNBOOK_USER": "dev"})


def canaries_as_seen(world: World) -> list[tuple[Any, ...]]:
    return [(c["serviceName"], c["taskDefinition"], c["desiredCount"], c["serviceArn"], c["status"]) for c in world.canaries()]


def revisions(world: World) -> list[str]:
    return list(world.ecs.list_task_definitions(familyPrefix=SERVICE)["taskDefinitionArns"])


def test_a_second_deploy_from_another_database_is_refused_and_leaves_the_first_alone(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first_dir, second_dir = checkout(tmp_path / "alice-checkout"), checkout(tmp_path / "bob-checkout")
    with Scheduler(world):
        first, _ = deploy_until(first_dir, "Waiting for approval")
        try:
            [canary] = world.canaries()
            deployment = {t["key"]: t["value"] for t in canary["tags"]}["runbook:deployment"]
            before, registered = canaries_as_seen(world), revisions(world)

            monkeypatch.chdir(second_dir)
            from agent.cli import app

            second = CliRunner().invoke(app, DEPLOY)
            assert second.exit_code == 3, second.output
            out = " ".join(second.output.split())
            assert (f"Another runbook canary of {SERVICE} is running in production: Canary {canary['serviceName']}"
                    f" (1.2.3, ") in out
            assert (f"belongs to deployment {deployment}, which is not in this runbook database: is someone"
                    " deploying from another runbook database?") in out
            assert "PRE-DEPLOYMENT CHECKS FAILED — NOTHING CHANGED" in out
            # Nothing created, nothing touched: no revision registered, the first canary as it was.
            assert revisions(world) == registered and canaries_as_seen(world) == before
            svc = world.ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
            assert svc["taskDefinition"] == world.revision(1)
        finally:
            deny = subprocess.run(RUNBOOK + ["deny", "--service", SERVICE, "--environment", "production",
                                             "--reason", "test over"],
                                  cwd=first_dir, env=os.environ | {"RUNBOOK_USER": "alice"},
                                  capture_output=True, text=True, timeout=60)
            out_first, _ = first.communicate(timeout=120)
    assert deny.returncode == 0, deny.stdout + deny.stderr
    assert first.returncode == 5, out_first
    assert world.canaries() == []
