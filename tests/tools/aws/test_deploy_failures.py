"""Whole `runbook deploy` runs that go wrong, through the CLI against a moto server.

AWS behaviour moto cannot play comes from stand-ins (STAND_INS.md): the ECS scheduler and
deployment circuit breaker (`World.reconcile`, `World.break_revision`), unhealthy canaries
(responses rewritten after parsing) and throttling (errors injected before sending).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from tests.tools.aws import test_deploy_e2e as e2e
from tests.tools.aws.faults import every_third, inject, on_backend_clients, protocol_of, rewrite
from tests.tools.aws.test_deploy_e2e import Scheduler, colleague_approves, deploy
from tests.tools.aws.world import CLUSTER, SERVICE, World

server, world = e2e.server, e2e.world  # the same fixtures: a moto server and an account built on it

CANARY_GROUP = f"service:{SERVICE}-canary-"


def service_revision(world: World, name: str = SERVICE) -> str:
    return str(world.ecs.describe_services(cluster=CLUSTER, services=[name])["services"][0]["taskDefinition"])


def canary_gone(world: World) -> bool:
    return bool(world.canaries(active=False)) and not world.canaries()


def approved_deploy(world: World, tmp_path: Path, *flags: str) -> Any:
    approver = colleague_approves(tmp_path)
    with Scheduler(world):
        result = deploy("1.2.3", *flags)
    out, _ = approver.communicate(timeout=30)
    assert "Approved" in out, out + result.output
    return result


@pytest.mark.parametrize(("flags", "exit_code"), [((), 6), (("--auto-rollback",), 6)])
def test_circuit_breaker_fails_the_rollout(
    world: World, tmp_path: Path, flags: tuple[str, ...], exit_code: int
) -> None:
    world.break_revision(SERVICE, world.revision(2))  # the canary service is not affected
    result = approved_deploy(world, tmp_path, *flags)
    assert result.exit_code == exit_code, result.output
    assert world.rolled_back == [SERVICE]
    assert "Rollout failed: ECS rolled the service back to checkout-api:1 (deployment circuit breaker)" in (
        result.output
    )
    assert "Canary removed" in result.output and canary_gone(world)
    # ECS's own circuit breaker put the service back, with or without --auto-rollback: the summary says so.
    assert "DEPLOYMENT VALIDATION FAILED — ROLLED BACK" in result.output
    assert "The platform already rolled checkout-api back to 1.2.2 (4 of 4 tasks on checkout-api:1)." in result.output
    assert "is still running" not in result.output
    assert service_revision(world) == world.revision(1)
    running = world.ecs.describe_tasks(
        cluster=CLUSTER, tasks=world.ecs.list_tasks(cluster=CLUSTER, desiredStatus="RUNNING")["taskArns"]
    )["tasks"]
    assert {t["taskDefinitionArn"] for t in running if t["group"] == f"service:{SERVICE}"} == {
        world.revision(1)
    }


def unhealthy_canary(how: str) -> Any:
    """Container health check failing, or the load balancer's health check failing, for canary tasks."""
    canary_ips: set[str] = set()

    def tasks(parsed: dict[str, Any]) -> None:
        for task in parsed.get("tasks", []):
            if task.get("group", "").startswith(CANARY_GROUP):
                if how == "container":
                    task["healthStatus"] = "UNHEALTHY"
                canary_ips.update(
                    d["value"]
                    for a in task.get("attachments", [])
                    for d in a.get("details", [])
                    if d.get("name") == "privateIPv4Address"
                )

    def targets(parsed: dict[str, Any]) -> None:
        for item in parsed.get("TargetHealthDescriptions", []):
            if item["Target"]["Id"] in canary_ips:
                item["TargetHealth"] = {"State": "unhealthy", "Reason": "Target.ResponseCodeMismatch"}

    def setup(service: str, client: Any) -> None:
        if service == "ecs":
            rewrite(client, "ecs.DescribeTasks", tasks)
        if service == "elbv2" and how == "target":
            rewrite(client, "elastic-load-balancing-v2.DescribeTargetHealth", targets)

    return setup


@pytest.mark.parametrize("how", ["target", "container"])
def test_unhealthy_canary_fails_the_deploy(world: World, how: str, monkeypatch: pytest.MonkeyPatch) -> None:
    on_backend_clients(monkeypatch, unhealthy_canary(how))
    with Scheduler(world):
        result = deploy()
    assert result.exit_code == 4, result.output
    assert "Canary failed its health checks" in result.output
    assert "Canary removed" in result.output and canary_gone(world)
    assert service_revision(world) == world.revision(1)


def test_throttling_every_third_call_of_a_whole_deploy_is_absorbed(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "4")
    # Retry back-off and the adaptive client-side rate limiter wait in wall time; not on the instant clock.
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, ctx: 0.001)
    monkeypatch.setattr("botocore.retries.bucket.TokenBucket.acquire", lambda self, amount=1, block=True: True)
    calls = {"n": 0}  # one count over every client: every third request of the deploy is throttled

    def throttle(service: str, client: Any) -> None:
        code = "Throttling" if protocol_of(client) == "query" else "ThrottlingException"
        inject(client, "", every_third(code, protocol_of(client), calls))

    on_backend_clients(monkeypatch, throttle)
    with caplog.at_level(logging.INFO, logger="tools.aws"):
        result = approved_deploy(world, tmp_path)
    assert result.exit_code == 0, result.output
    assert service_revision(world) == world.revision(2) and canary_gone(world)
    throttled = calls["n"] // 3
    assert throttled >= 20, calls
    report = next(r.getMessage() for r in caplog.records if r.name == "tools.aws")
    calls = int(report.split(": ")[1].split()[0])
    assert report == f"AWS: {calls} API calls, {throttled} retries (throttling absorbed)"
