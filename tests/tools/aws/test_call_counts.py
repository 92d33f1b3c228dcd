"""How many AWS calls a deploy makes, through the CLI against a moto server: no ListMetrics, at most one GetMetricData
per judgement, no DescribeServices asked twice in a row for the same thing; `--verbose` shows the summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.tools.aws import test_deploy_e2e as e2e
from tests.tools.aws.faults import on_backend_clients
from tests.tools.aws.test_deploy_e2e import Scheduler, colleague_approves
from tests.tools.aws.world import SERVICE, World

server, world = e2e.server, e2e.world

def recorded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    calls: list[tuple[str, str]] = []

    def setup(service: str, client: Any) -> None:
        def before(model: Any, params: dict[str, Any], **_: Any) -> None:
            calls.append((model.name, json.dumps(params, sort_keys=True, default=str)))

        client.meta.events.register("provide-client-params", before)

    on_backend_clients(monkeypatch, setup)
    return calls


def cli(*args: str) -> Any:
    from typer.testing import CliRunner

    from agent.cli import app

    return CliRunner().invoke(app, list(args))


def test_a_deploy_reads_metrics_once_per_judgement_and_never_lists_them(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = recorded(monkeypatch)
    approver = colleague_approves(tmp_path)
    with Scheduler(world):
        result = cli("deploy", SERVICE, "--version", "1.2.3", "--environment", "production", "--output", "json")
    approver.communicate(timeout=60)
    assert result.exit_code == 0, result.output
    judgements = [e for e in map(json.loads, result.stdout.splitlines()) if e["kind"] == "metrics_observed"]
    names = [name for name, _ in calls]
    assert "ListMetrics" not in names
    # A judgement reads at most once (canary and stable together, only the periods completed since the last
    # read: the canary's evidence is cumulative); the validation's "before" window one more.
    assert 2 <= names.count("GetMetricData") <= len(judgements) + 1
    # Until the canary exists the service is described once by the pre-checks, then once with the canary's name
    # (one request for both): not again by the config validation and the canary step.
    described = [json.loads(params)["services"] for name, params in calls[: names.index("CreateService")]
                 if name == "DescribeServices"]
    assert described[0] == [SERVICE] and len(described) == 2, described
    assert described[1][0] == SERVICE and described[1][1].startswith(f"{SERVICE}-canary-")


@pytest.mark.parametrize("command", [
    ("deploy", SERVICE, "--version", "1.2.3", "--environment", "production", "--dry-run"),
    ("status", SERVICE, "--environment", "production"),
])
def test_verbose_shows_the_aws_calls_and_retries(world: World, command: tuple[str, ...]) -> None:
    quiet = cli(*command)
    assert quiet.exit_code == 0, quiet.output
    assert "API calls" not in quiet.output
    loud = cli(*command, "--verbose")
    assert loud.exit_code == 0, loud.output
    summary = [line for line in loud.output.splitlines() if line.startswith("AWS: ")]
    assert len(summary) == 1 and summary[0].endswith("retries (throttling absorbed)"), loud.output
    assert int(summary[0].split()[1]) > 0
