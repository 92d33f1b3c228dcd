"""ECS as teams run it, end to end through the CLI against a moto server: EC2 bridge mode behind an NLB,
a sidecar listed first, digest-pinned images, JSON-key secrets, Service Connect (`shop_world.py`), and the
shapes and failures that used to break a deploy: CODE_DEPLOY/EXTERNAL controllers, a weighted canary that got
traffic before it was healthy, an AccessDenied for iam:PassRole, a canary whose image cannot be pulled, a
circuit-breaker rollback reported before it completed. STAND_INS.md says what stands in for moto where."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.tools.aws import test_deploy_e2e as e2e
from tests.tools.aws.conftest import ecs_config
from tests.tools.aws.faults import error_response, inject, on_backend_clients
from tests.tools.aws.shop_world import (
    GRACE_SECONDS,
    NAMESPACE_ARN,
    SIDECAR,
    START_PERIOD_SECONDS,
    VOLUMES,
    ShopWorld,
)
from tests.tools.aws.test_deploy_e2e import Scheduler, colleague_approves, deploy
from tests.tools.aws.world import ACCOUNT, CLUSTER, REPO_HOST, SERVICE, World

server, world = e2e.server, e2e.world  # the plain Fargate world, for the failure shapes

PASS_ROLE_DENIED = (
    f"User: arn:aws:sts::{ACCOUNT}:assumed-role/deployer/dev is not authorized to perform: iam:PassRole on resource:"
    f" arn:aws:iam::{ACCOUNT}:role/exec because no identity-based policy allows the iam:PassRole action"
)


def publish(built: World) -> None:
    start = datetime.now(UTC) - timedelta(minutes=10)
    built.publish("1.2.2", start, 120, requests=100, errors=1, latency_ms=150)
    built.publish("1.2.3", start, 120, requests=100, errors=0, latency_ms=120)


@pytest.fixture
def shop(server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ShopWorld]:
    built = ShopWorld(endpoint_url=server).build()
    publish(built)
    (tmp_path / "runbook.yaml").write_text(yaml.safe_dump(ecs_config()))
    on_backend_clients(monkeypatch, built.backend_rewrites)
    yield built


def revisions(built: World) -> list[str]:
    return list(built.ecs.list_task_definitions(familyPrefix=SERVICE)["taskDefinitionArns"])


def service_revision(built: World) -> str:
    return str(built.ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]["taskDefinition"])


def approved(built: World, tmp_path: Path, *flags: str, output: str = "plain") -> Any:
    approver = colleague_approves(tmp_path)
    with Scheduler(built):
        result = deploy("1.2.3", *flags) if output == "plain" else e2e_json(*flags)
    out, _ = approver.communicate(timeout=60)
    assert "Approved" in out, out + result.output
    return result


def e2e_json(*flags: str) -> Any:
    from typer.testing import CliRunner

    from agent.cli import app

    return CliRunner().invoke(app, ["deploy", SERVICE, "--version", "1.2.3", "--environment", "production",
                                    "--output", "json", *flags])


def events(result: Any) -> list[dict[str, Any]]:
    return [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]


# --- the team's service: EC2 bridge mode, NLB, sidecar first, digests, JSON-key secrets, Service Connect ------


def test_a_bridge_mode_service_behind_an_nlb_deploys(shop: ShopWorld, tmp_path: Path) -> None:
    result = approved(shop, tmp_path)
    assert result.exit_code == 0, result.output
    out = result.output
    # The running version is read from ECR by the digest the task definition pins; health by instance + port.
    assert "Current version: 1.2.2" in out and "Running: 4 tasks, all healthy" in out
    assert "All secrets accessible" in out and "s3cret" not in out
    # The first health check waited for the container's start period (90 s > grace 60 s > 3 × 10 s).
    assert f"Performing health checks... (the first after {START_PERIOD_SECONDS}s)" in out
    [canary] = [c for c in shop.created if c["serviceName"].startswith(f"{SERVICE}-canary-")]
    assert canary["launchType"] == "EC2" and "networkConfiguration" not in canary
    assert canary["propagateTags"] == "SERVICE" and canary["enableECSManagedTags"] is True
    assert canary["healthCheckGracePeriodSeconds"] == GRACE_SECONDS
    assert canary["volumeConfigurations"] == VOLUMES
    # Service Connect as a client: same namespace, never the stable service's discovery name or aliases.
    connect = canary["serviceConnectConfiguration"]
    assert connect["enabled"] is True and connect["namespace"] == NAMESPACE_ARN and "services" not in connect
    assert service_revision(shop) == shop.revision(2)
    new = shop.ecs.describe_task_definition(taskDefinition=shop.revision(2))["taskDefinition"]
    assert [c["name"] for c in new["containerDefinitions"]] == ["log-router", "app"]
    assert new["containerDefinitions"][0]["image"] == SIDECAR  # the sidecar is left as it was
    assert new["containerDefinitions"][1]["image"].startswith(f"{REPO_HOST}/{SERVICE}:1.2.3")
    assert shop.canaries() == []


def test_nlb_metrics_cannot_judge_and_config_validation_says_so(
    shop: ShopWorld, tmp_path: Path
) -> None:
    (tmp_path / "runbook.yaml").write_text(yaml.safe_dump(ecs_config({"metrics_source": "alb"})))
    for flags in ((), ("--dry-run",)):
        result = deploy("1.2.3", *flags)
        assert result.exit_code == 3, result.output
        assert (f"{SERVICE} is behind a Network Load Balancer, whose metrics (AWS/NetworkELB) count connections and"
                " bytes, not HTTP requests, errors or latency, so metrics_source: alb cannot judge the canary;"
                " publish per-version metrics and set metrics_source: custom.") in " ".join(result.output.split())
        assert revisions(shop) == [shop.revision(1)] and shop.canaries(active=False) == []


def test_a_target_still_initial_is_waited_for_not_failed(shop: ShopWorld, tmp_path: Path) -> None:
    asked: dict[tuple[str, int], int] = {}

    def states(ident: str, port: int) -> str:
        if not shop.port_groups[port].startswith(f"service:{SERVICE}-canary-"):
            return "healthy"
        asked[(ident, port)] = asked.get((ident, port), 0) + 1
        return "initial" if asked[(ident, port)] <= 3 else "healthy"  # the canary's target passes its checks late

    shop.target_states = states
    result = approved(shop, tmp_path, output="json")
    assert result.exit_code == 0, result.output
    seen = events(result)
    waits = [e for e in seen if e["kind"] == "progress" and e["message"].startswith("Not judged yet")]
    assert waits, "the canary's initial target was not waited for"
    started = next(e for e in seen if e.get("check") == "canary_started" and e["kind"] == "check_passed")
    first = next(e for e in seen if e in waits or e["kind"] == "health_check")  # the first look at its health
    waited = datetime.fromisoformat(first["at"]) - datetime.fromisoformat(started["at"])
    assert waited >= timedelta(seconds=START_PERIOD_SECONDS)
    checks = [e for e in seen if e["kind"] == "health_check"]
    assert checks and all(e["healthy"] for e in checks)


# --- shapes that must be refused, and failures that must say why ----------------------------------------


@pytest.mark.parametrize("controller", ["CODE_DEPLOY", "EXTERNAL"])
def test_services_ecs_does_not_roll_out_are_refused_up_front(
    server: str, tmp_path: Path, controller: str
) -> None:
    built = World(endpoint_url=server).build(controller=controller)
    (tmp_path / "runbook.yaml").write_text(yaml.safe_dump(ecs_config()))
    for flags in (("--dry-run",), ()):
        result = deploy("1.2.3", *flags)
        assert result.exit_code == 3, result.output
        out = " ".join(result.output.split())
        assert f"deployment controller {controller}" in out or f"{controller} deployment controller" in out
        assert "cannot roll it out" in out
        assert revisions(built) == [built.revision(1)] and built.canaries(active=False) == []


def test_a_weighted_canary_gets_traffic_only_once_its_targets_are_healthy(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "runbook.yaml").write_text(yaml.safe_dump(ecs_config(
        {"canary_target_group_arn": world.canary_tg_arn, "listener_arn": world.listener_arn})))
    shifts: list[tuple[dict[str, int], int]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        groups = params["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]
        registered = world.elbv2.describe_target_health(TargetGroupArn=world.canary_tg_arn)["TargetHealthDescriptions"]
        shifts.append(({g["TargetGroupArn"]: g["Weight"] for g in groups}, len(registered)))

    on_backend_clients(monkeypatch, lambda service, client: client.meta.events.register(
        "provide-client-params.elastic-load-balancing-v2.ModifyListener", record) if service == "elbv2" else None)
    result = approved(world, tmp_path)
    assert result.exit_code == 0, result.output
    to_canary = [(w, n) for w, n in shifts if w.get(world.canary_tg_arn)]
    assert to_canary and all(n >= 1 for _, n in to_canary), shifts  # never before a canary target was registered
    assert shifts[-1][0] == {world.tg_arn: 100}  # and back to stable at the end


def test_access_denied_names_the_permission_aws_names(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_backend_clients(monkeypatch, lambda service, client: inject(
        client, "ecs.RegisterTaskDefinition", lambda: error_response("AccessDeniedException", PASS_ROLE_DENIED))
        if service == "ecs" else None)
    with Scheduler(world):
        result = deploy("1.2.3")
    assert result.exit_code == 4, result.output
    out = " ".join(result.output.split())
    assert (f"Access denied: the AWS identity in use lacks iam:PassRole on arn:aws:iam::{ACCOUNT}:role/exec (needed"
            f" for ecs:RegisterTaskDefinition on task definition family {SERVICE}") in out
    assert revisions(world) == [world.revision(1)] and world.canaries(active=False) == []


def test_a_canary_whose_image_cannot_be_pulled_says_why(world: World, tmp_path: Path) -> None:
    why = ("CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref"
           f" {REPO_HOST}/{SERVICE}:1.2.3: not found")
    world.unpullable[world.revision(2)] = why
    with Scheduler(world):
        result = deploy("1.2.3")
    assert result.exit_code == 4, result.output
    out = " ".join(result.output.split())
    assert "Canary tasks did not reach RUNNING within 5 minutes" in out
    assert "tasks stopped (last " in out and why in out
    assert world.canaries() == [] and service_revision(world) == world.revision(1)


def test_a_circuit_breaker_rollback_is_reported_once_it_has_completed(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On instant time the rollout's 30 virtual minutes are a handful of polls: wait for the stand-in scheduler
    # (a thread on wall time) however busy the machine is.
    monkeypatch.setattr("skills.deploy.rollout.ROLLOUT_TIMEOUT_SECONDS", 7 * 24 * 3600)
    world.break_revision(SERVICE, world.revision(2), rollback_passes=3)
    result = approved(world, tmp_path)
    assert result.exit_code == 6, result.output
    out = " ".join(result.output.split())
    assert ("waiting for the platform's rollback to checkout-api:1 to complete") in out
    assert "Essential container exited" in out  # the stopped tasks' reason
    assert "The platform already rolled checkout-api back to 1.2.2 (4 of 4 tasks on checkout-api:1)." in out
    running = world.ecs.describe_tasks(
        cluster=CLUSTER, tasks=world.ecs.list_tasks(cluster=CLUSTER, desiredStatus="RUNNING")["taskArns"]
    )["tasks"]
    live = [t for t in running if t["group"] == f"service:{SERVICE}" and t["lastStatus"] == "RUNNING"]
    assert len(live) == 4 and {t["taskDefinitionArn"] for t in live} == {world.revision(1)}
