"""Always a way back, end to end through the CLI against a moto server: after a deploy that failed its
post-deployment validation and was left running (exit 7), `runbook rollback` goes back to what ran before
that deploy, and is stopped only by alarms that were firing before it started."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from tests.tools.aws import test_deploy_e2e as e2e
from tests.tools.aws.faults import on_backend_clients
from tests.tools.aws.test_deploy_e2e import Scheduler, colleague_approves, deploy
from tests.tools.aws.world import ACCOUNT, CLUSTER, REGION, SERVICE, World

server, world = e2e.server, e2e.world  # the same fixtures: a moto server and an account built on it

BAD = "1.2.4"
ALARM = f"{SERVICE}-5xx"


def cli(*args: str) -> Any:
    from agent.cli import app

    return CliRunner().invoke(app, list(args))


def approved(tmp_path: Path, world: World, run: Any) -> Any:
    """`run()` (a deploy or a rollback) with a colleague approving from a second process."""
    approver = colleague_approves(tmp_path)
    with Scheduler(world):
        result = run()
    try:
        out, _ = approver.communicate(timeout=30)
    except subprocess.TimeoutExpired:  # nothing asked for an approval: the run stopped before
        approver.kill()
        out, _ = approver.communicate()
    assert "Approved" in out, out + result.output
    return result


class FailsOnceLive:
    """1.2.4's custom metrics, written as runbook asks for them: clean while it serves only as a canary, 50 %
    errors once the service itself runs it (after the rollout's UpdateService), so its canary passes and its
    post-deployment validation fails. Written on demand because the deploy's clock runs instantly from the
    wall time it started at, so when its validation window falls is not known beforehand."""

    def __init__(self, world: World) -> None:
        self.world, self.live, self.written = world, False, set[datetime]()

    def setup(self, service: str, client: Any) -> None:
        if service == "ecs":
            client.meta.events.register("provide-client-params.ecs.UpdateService", self.rollout)
        if service == "cloudwatch":
            client.meta.events.register("provide-client-params.cloudwatch.GetMetricData", self.metrics)

    def rollout(self, params: dict[str, Any], **_: Any) -> None:
        if params.get("service") == SERVICE and params.get("taskDefinition"):  # not the canary service
            self.live = True

    def metrics(self, params: dict[str, Any], **_: Any) -> None:
        if f'"{BAD}"' not in json.dumps(params["MetricDataQueries"]):
            return
        start, end = params["StartTime"], params["EndTime"]
        stamp = start.replace(second=start.second // 10 * 10, microsecond=0)
        stamps = []
        while stamp < end:
            if stamp not in self.written:
                self.written.add(stamp)
                stamps.append(stamp)
            stamp += timedelta(seconds=10)
        self.world.publish_at(BAD, stamps, errors=50 if self.live else 0)


def push_bad_version(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """1.2.4: an image in ECR, and metrics that pass its canary and fail its validation."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"digest": f"sha256:{BAD}"},
        "layers": [],
    }
    world.client("ecr").put_image(repositoryName=SERVICE, imageManifest=json.dumps(manifest), imageTag=BAD)
    on_backend_clients(monkeypatch, FailsOnceLive(world).setup)


def failed_deploy(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    push_bad_version(world, monkeypatch)
    result = approved(tmp_path, world, lambda: deploy(BAD))
    assert result.exit_code == 7, result.output  # validation failed; 1.2.4 left running
    assert running_image(world).endswith(f":{BAD}")
    return result


def running_image(world: World) -> str:
    """The image of the service's task definition, without the digest runbook pins it to."""
    arn = world.ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]["taskDefinition"]
    definition = world.ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    return str(definition["containerDefinitions"][0]["image"]).split("@")[0]


def newest_deployment() -> dict[str, Any]:
    result = cli("-o", "json", "history")
    return dict(json.loads(result.stdout.splitlines()[0])["deployments"][0])


def rollback(*flags: str) -> Any:
    return cli("rollback", SERVICE, "-e", "production", "--output", "plain", *flags)


def test_rollback_after_a_failed_validation_goes_to_the_version_that_ran_before_it(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped = approved(tmp_path, world, lambda: deploy("1.2.3"))
    assert shipped.exit_code == 0, shipped.output  # 1.2.2 → 1.2.3
    failed_deploy(world, tmp_path, monkeypatch)  # 1.2.3 → 1.2.4, left running

    back = approved(tmp_path, world, lambda: rollback())
    assert back.exit_code == 0, back.output
    assert f"Deploying {SERVICE} v1.2.3" in back.output  # not 1.2.2, the last success's from_version
    assert running_image(world).endswith(f"/{SERVICE}:1.2.3")
    row = newest_deployment()
    assert row["kind"] == "rollback" and row["from_version"] == BAD and row["to_version"] == "1.2.3"


def test_an_alarm_raised_after_the_bad_deploy_started_does_not_stop_its_rollback(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failed_deploy(world, tmp_path, monkeypatch)  # 1.2.2 → 1.2.4, left running
    bad = newest_deployment()
    world.cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="5xx above 10")
    assert alarm_since(world) >= datetime.fromisoformat(bad["started_at"])

    back = approved(tmp_path, world, lambda: rollback())
    assert back.exit_code == 0, back.output
    assert f"Alarms firing on {SERVICE} do not stop this rollback" in back.output
    assert f"{ALARM}: raised since {bad['id']} started ({BAD})" in back.output
    assert running_image(world).endswith(f"/{SERVICE}:1.2.2")


def alarm_since(world: World) -> datetime:
    alarm = world.cloudwatch.describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]
    return alarm["StateUpdatedTimestamp"].astimezone(UTC)  # type: ignore[no-any-return]


def alarm_fired_at(name: str, when: datetime) -> None:
    """Stand-in (STAND_INS.md): CloudWatch has no API to set when an alarm went into its state, and moto
    stamps `set_alarm_state` with the time of the call; the moto server runs in this process, so its
    alarm's `StateUpdatedTimestamp` is set in moto's backend."""
    from moto.cloudwatch.models import cloudwatch_backends

    alarm = cloudwatch_backends[ACCOUNT][REGION].alarms[name]
    alarm.state_updated_timestamp = when.astimezone(UTC).replace(tzinfo=None)


def test_an_alarm_firing_before_the_bad_deploy_started_stops_its_rollback_unless_overridden(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failed_deploy(world, tmp_path, monkeypatch)  # 1.2.2 → 1.2.4, left running
    bad = newest_deployment()
    world.cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="5xx above 10")
    alarm_fired_at(ALARM, datetime.fromisoformat(bad["started_at"]) - timedelta(minutes=5))
    assert alarm_since(world) < datetime.fromisoformat(bad["started_at"])

    refused = rollback()
    assert refused.exit_code == 3, refused.output
    assert f"1 alarm on {SERVICE} fired before deploy {bad['id']} ({BAD}) started: {ALARM};" in refused.output
    assert f"runbook rollback {SERVICE} --to 1.2.2 --despite-alarms" in refused.output
    assert running_image(world).endswith(f":{BAD}")

    back = approved(tmp_path, world, lambda: rollback("--despite-alarms"))
    assert back.exit_code == 0, back.output
    assert f"{ALARM}: overridden (--despite-alarms)" in back.output
    assert running_image(world).endswith(f"/{SERVICE}:1.2.2")
