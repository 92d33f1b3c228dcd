"""`runbook deploy` end to end through the CLI against a moto server, with a colleague approving
from a second process (`runbook approve --wait`, another RUNBOOK_USER)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from tests.tools.aws.conftest import ecs_config
from tests.tools.aws.faults import error_response, inject
from tests.tools.aws.world import CLUSTER, SERVICE, World, freeze_tasks
from tools.identity import os_account


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    url = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"))  # a fresh account
    freeze_tasks()
    yield url
    moto.stop()


class Scheduler:
    """Runs the stand-in ECS scheduler (World.reconcile) in a thread, as ECS would."""

    def __init__(self, world: World) -> None:
        self.world, self.stop = world, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.05):
            self.world.reconcile()

    def __enter__(self) -> Scheduler:
        self.thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop.set()
        self.thread.join(5)


@pytest.fixture
def world(server: str, tmp_path: Path) -> World:
    built = World(endpoint_url=server).build()
    start = datetime.now(UTC) - timedelta(minutes=10)
    built.publish("1.2.2", start, 120, requests=100, errors=1, latency_ms=150)
    built.publish("1.2.3", start, 120, requests=100, errors=0, latency_ms=120)
    (tmp_path / "runbook.yaml").write_text(yaml.safe_dump(ecs_config()))
    return built


def colleague_approves(tmp_path: Path) -> subprocess.Popen[str]:
    runbook = Path(sys.executable).parent / "runbook"
    return subprocess.Popen(
        [str(runbook), "approve", "--service", SERVICE, "--environment", "production", "--wait", "30"],
        cwd=tmp_path,
        env=os.environ | {"RUNBOOK_USER": "alice"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def deploy(version: str = "1.2.3", *flags: str) -> Any:
    from agent.cli import app

    return CliRunner().invoke(
        app,
        ["deploy", SERVICE, "--version", version, "--environment", "production", "--output", "plain", *flags],
    )


def test_full_deploy_against_moto_server(world: World, tmp_path: Path) -> None:
    approver = colleague_approves(tmp_path)
    with Scheduler(world):
        result = deploy()
    out, _ = approver.communicate(timeout=30)
    assert result.exit_code == 0, result.output
    # identity: os on ECS: RUNBOOK_USER=alice is ignored; this world lets the requester's own account approve
    assert "Approved" in out and f"as {os_account()}." in out, out
    for text in (
        "Service found: checkout-api (ECS, prod cluster)",
        "Current version: 1.2.2",
        "Task definition: checkout-api:2",
        "All secrets accessible",
        "Health check endpoint: /health",
    ):
        assert text in result.output, result.output
    # Custom metrics settle 60 s: the canary and the validation each judge their window once more.
    assert result.output.count("Waiting 60s for metrics to settle...") == 2, result.output
    svc = world.ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
    assert svc["taskDefinition"].endswith(f"{SERVICE}:2")
    assert world.canaries(active=False) and not world.canaries()  # a canary ran, and is gone


def test_missing_image_stops_at_prechecks(world: World) -> None:
    result = deploy("9.9.9")
    assert result.exit_code == 3, result.output
    assert "checkout-api:9.9.9 does not exist" in result.output
    assert not world.canaries(active=False)


def test_firing_alarm_stops_at_prechecks(world: World) -> None:
    world.cloudwatch.set_alarm_state(
        AlarmName=f"{SERVICE}-5xx", StateValue="ALARM", StateReason="5xx above 10"
    )
    result = deploy()
    assert result.exit_code == 3, result.output
    assert "checkout-api-5xx" in result.output


def test_secret_access_denied_fails_config_validation(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from tools.aws.session import AwsSession

    original = AwsSession.client

    def client(self: AwsSession, service: str) -> Any:
        made = original(self, service)
        if service == "secretsmanager" and not getattr(made, "_denied", False):
            inject(
                made,
                "secrets-manager.GetSecretValue",
                lambda: error_response("AccessDeniedException", "not authorized"),
            )
            made._denied = True
        return made

    monkeypatch.setattr(AwsSession, "client", client)
    result = deploy()
    assert result.exit_code == 3, result.output
    assert "DATABASE_URL" in result.output and "secretsmanager:GetSecretValue" in result.output
    assert "s3cret" not in result.output
