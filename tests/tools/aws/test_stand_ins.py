"""Behaviour moto cannot play, through botocore's Stubber (recorded-shape responses) and injected faults.
STAND_INS.md lists which test covers what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from tests.tools.aws.conftest import ecs_config
from tests.tools.aws.faults import error_response, every_third, inject
from tests.tools.aws.world import CLUSTER, SERVICE
from tools.aws import open_ecs_backend
from tools.backend import AccessDenied, Backend, BackendError, target_for
from tools.config import parse_config
from tools.models import ServiceTarget

TD1 = f"arn:aws:ecs:us-east-1:123456789012:task-definition/{SERVICE}:1"
TD2 = f"arn:aws:ecs:us-east-1:123456789012:task-definition/{SERVICE}:2"
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def offline() -> tuple[Backend, ServiceTarget]:
    config = parse_config(ecs_config(), "t")
    return open_ecs_backend(config, "production"), target_for(config, SERVICE, "production")


def service(td: str, deployments: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "services": [
            {
                "serviceName": SERVICE,
                "status": "ACTIVE",
                "taskDefinition": td,
                "desiredCount": 4,
                "runningCount": 4,
                "pendingCount": 0,
                "deployments": deployments,
                "loadBalancers": [],
            }
        ]
    }


def deployment(
    ident: str, td: str, status: str, state: str, running: int, reason: str = ""
) -> dict[str, Any]:
    return {
        "id": ident,
        "taskDefinition": td,
        "status": status,
        "rolloutState": state,
        "runningCount": running,
        "rolloutStateReason": reason,
        "createdAt": NOW,
        "failedTasks": 2 if state == "FAILED" else 0,
    }


def describe_td(td: str, tag: str) -> dict[str, Any]:
    return {
        "taskDefinition": {
            "taskDefinitionArn": td,
            "family": SERVICE,
            "revision": int(td[-1]),
            "containerDefinitions": [{"name": "app", "image": f"repo/{SERVICE}:{tag}"}],
        }
    }


def test_rolling_deployment_progresses_to_completed() -> None:
    backend, target = offline()
    ecs = backend.platform.session.client("ecs")  # type: ignore[attr-defined]
    with Stubber(ecs) as stub:
        stub.add_response(
            "update_service",
            {
                "service": service(
                    TD2,
                    [
                        deployment("ecs-svc/new", TD2, "PRIMARY", "IN_PROGRESS", 0),
                        deployment("ecs-svc/old", TD1, "ACTIVE", "COMPLETED", 4),
                    ],
                )["services"][0]
            },
            {"cluster": CLUSTER, "service": SERVICE, "taskDefinition": TD2},
        )
        for new, old, state in ((0, 4, "IN_PROGRESS"), (2, 2, "IN_PROGRESS"), (4, 0, "COMPLETED")):
            deps = [deployment("ecs-svc/new", TD2, "PRIMARY", state, new)]
            deps += [deployment("ecs-svc/old", TD1, "ACTIVE", "COMPLETED", old)] if old else []
            stub.add_response(
                "describe_services", service(TD2, deps), {"cluster": CLUSTER, "services": [SERVICE]}
            )
        backend.platform.start_rollout(target, _td(2))
        seen = [backend.platform.rollout_status(target) for _ in range(3)]
    assert [(s.state, s.new_running, s.old_running) for s in seen] == [
        ("IN_PROGRESS", 0, 4),
        ("IN_PROGRESS", 2, 2),
        ("COMPLETED", 4, 0),
    ]


def test_circuit_breaker_failure_and_rollback_are_failed() -> None:
    """The breaker fails the deployment and puts revision 1 back with a deployment of its own, which the
    rollout status follows until it has completed."""
    backend, target = offline()
    ecs = backend.platform.session.client("ecs")  # type: ignore[attr-defined]
    reason = "ECS deployment circuit breaker: tasks failed to start."
    with Stubber(ecs) as stub:
        started = service(TD2, [deployment("ecs-svc/new", TD2, "PRIMARY", "IN_PROGRESS", 0)])["services"][0]
        stub.add_response("update_service", {"service": started})
        stub.add_response(
            "describe_services",
            service(
                TD1,
                [
                    deployment("ecs-svc/back", TD1, "PRIMARY", "IN_PROGRESS", 2),
                    deployment("ecs-svc/new", TD2, "ACTIVE", "FAILED", 0, reason),
                ],
            ),
        )
        stub.add_response("describe_task_definition", describe_td(TD1, "1.2.2"))
        # Later the failed deployment is gone and the service is back on revision 1.
        stub.add_response(
            "describe_services", service(TD1, [deployment("ecs-svc/back", TD1, "PRIMARY", "COMPLETED", 4)])
        )
        backend.platform.start_rollout(target, _td(2))
        failed = backend.platform.rollout_status(target)
        back = backend.platform.rollout_status(target)
    assert (failed.state, failed.platform_rollback, failed.old_running) == ("FAILED", "IN_PROGRESS", 2)
    assert failed.reason == (
        f"ECS deployment circuit breaker: tasks failed to start; ECS rolled the service back to {SERVICE}:1"
        " (deployment circuit breaker)"
    )
    assert (back.state, back.platform_rollback, back.old_running, back.rolled_back_to) == (
        "FAILED", "COMPLETED", 4, f"{SERVICE}:1"
    )


def test_p99_uses_the_percentile_statistic() -> None:
    backend, target = offline()
    cloudwatch = backend.metrics.session.client("cloudwatch")  # type: ignore[attr-defined]
    start = NOW
    with Stubber(cloudwatch) as stub:
        stub.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {"Id": "r0", "Timestamps": [start], "Values": [200.0], "StatusCode": "Complete"},
                    {"Id": "e0", "Timestamps": [start], "Values": [2.0], "StatusCode": "Complete"},
                    {"Id": "l0", "Timestamps": [start], "Values": [0.35], "StatusCode": "Complete"},
                ]
            },
            {
                "MetricDataQueries": ANY,
                "StartTime": start,
                "EndTime": start + timedelta(minutes=1),
                "ScanBy": "TimestampAscending",
            },
        )
        config = parse_config(
            ecs_config({"metrics_source": "custom", "latency_statistic": "p99", "latency_to_ms": 1000}), "t"
        )
        window = backend.metrics.observe(
            target_for(config, SERVICE, "production"), "1.2.3", start, start + timedelta(minutes=1)
        )
        stub.assert_no_pending_responses()
    assert (window.requests, window.errors, window.p99_ms) == (200, 2, pytest.approx(350.0))


def test_p99_query_shape() -> None:
    backend, target = offline()
    cloudwatch = backend.metrics.session.client("cloudwatch")  # type: ignore[attr-defined]
    captured: list[dict[str, Any]] = []
    cloudwatch.meta.events.register(
        "provide-client-params.cloudwatch.GetMetricData", lambda params, **_: captured.append(params)
    )
    with Stubber(cloudwatch) as stub:
        stub.add_response("get_metric_data", {"MetricDataResults": []})
        target.config.ecs.latency_statistic = "p99"
        backend.metrics.observe(target, "1.2.3", NOW, NOW + timedelta(seconds=10))
    stats = {q["Id"]: q["MetricStat"]["Stat"] for q in captured[0]["MetricDataQueries"]}
    assert stats == {"r0": "Sum", "e0": "Sum", "l0": "p99"}
    assert captured[0]["MetricDataQueries"][2]["MetricStat"]["Period"] == 10


def _captured_queries(backend: Backend) -> list[dict[str, Any]]:
    cloudwatch = backend.metrics.session.client("cloudwatch")  # type: ignore[attr-defined]
    captured: list[dict[str, Any]] = []
    cloudwatch.meta.events.register(
        "provide-client-params.cloudwatch.GetMetricData", lambda params, **_: captured.append(params)
    )
    return captured


def test_slow_requests_are_trimmed_counts_of_the_latency_metric_in_the_same_call() -> None:
    # moto cannot compute TC(...) (nor percentiles): the query shape and the parsing are checked here.
    backend, target = offline()
    captured = _captured_queries(backend)
    cloudwatch = backend.metrics.session.client("cloudwatch")  # type: ignore[attr-defined]
    with Stubber(cloudwatch) as stub:
        stub.add_response("get_metric_data", {"MetricDataResults": [
            {"Id": "r0", "Timestamps": [NOW], "Values": [200.0], "StatusCode": "Complete"},
            {"Id": "e0", "Timestamps": [NOW], "Values": [2.0], "StatusCode": "Complete"},
            {"Id": "l0", "Timestamps": [NOW], "Values": [0.35], "StatusCode": "Complete"},
            {"Id": "s0x0", "Timestamps": [NOW], "Values": [7.0], "StatusCode": "Complete"},
            {"Id": "s1x0", "Timestamps": [NOW], "Values": [1.0], "StatusCode": "Complete"},
        ]})
        config = parse_config(ecs_config({"metrics_source": "custom", "latency_statistic": "p99",
                                          "latency_to_ms": 1000, "count_slow_requests": True}), "t")
        window = backend.metrics.observe(target_for(config, SERVICE, "production"), "1.2.3", NOW,
                                         NOW + timedelta(seconds=10), 10, slower_than_ms=(182.5, 500.0))
        stub.assert_no_pending_responses()
    assert len(captured) == 1  # one GetMetricData for requests, errors, p99 and both counts
    stats = {q["Id"]: q["MetricStat"]["Stat"] for q in captured[0]["MetricDataQueries"]}
    # the latency metric is in seconds here (latency_to_ms 1000): 182.5 ms is 0.1825
    assert stats == {"r0": "Sum", "e0": "Sum", "l0": "p99", "s0x0": "TC(0.1825:)", "s1x0": "TC(0.5:)"}
    assert window.points[0].slow_requests == {182.5: 7, 500.0: 1} and window.period_seconds == 10


def test_slow_request_counts_are_in_the_metrics_unit_and_can_be_turned_off() -> None:
    backend, target = offline()
    captured = _captured_queries(backend)
    cloudwatch = backend.metrics.session.client("cloudwatch")  # type: ignore[attr-defined]
    with Stubber(cloudwatch) as stub:
        stub.add_response("get_metric_data", {"MetricDataResults": []})
        stub.add_response("get_metric_data", {"MetricDataResults": []})
        target.config.ecs.count_slow_requests = True
        backend.metrics.observe(target, "1.2.3", NOW, NOW + timedelta(seconds=60), 10, slower_than_ms=(150.0,))
        target.config.ecs.count_slow_requests = False
        backend.metrics.observe(target, "1.2.3", NOW, NOW + timedelta(seconds=60), 10, slower_than_ms=(150.0,))
    first = {q["Id"]: q["MetricStat"] for q in captured[0]["MetricDataQueries"]}
    assert first["s0x0"]["Stat"] == "TC(150:)"  # a custom latency metric in ms (latency_to_ms 1)
    assert first["s0x0"]["Metric"]["MetricName"] == first["l0"]["Metric"]["MetricName"]
    assert not any(q["Id"].startswith("s") for q in captured[1]["MetricDataQueries"])


def test_unhealthy_target_makes_the_canary_unhealthy() -> None:
    backend, target = offline()
    ecs = backend.platform.session.client("ecs")  # type: ignore[attr-defined]
    elbv2 = backend.platform.session.client("elbv2")  # type: ignore[attr-defined]
    tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/checkout/abc"
    task = {
        "taskArn": f"arn:aws:ecs:us-east-1:123456789012:task/{CLUSTER}/t1",
        "taskDefinitionArn": TD2,
        "group": f"service:{SERVICE}-canary-t1",
        "lastStatus": "RUNNING",
        "healthStatus": "UNKNOWN",
        "attachments": [{"details": [{"name": "privateIPv4Address", "value": "10.0.1.7"}]}],
    }
    with Stubber(ecs) as ecs_stub, Stubber(elbv2) as elb_stub:
        ecs_stub.add_response(
            "describe_services",
            {"services": [{"serviceName": SERVICE, "loadBalancers": [{"targetGroupArn": tg}]}]},
        )
        ecs_stub.add_response(
            "list_tasks",
            {"taskArns": [task["taskArn"]]},
            {"cluster": CLUSTER, "serviceName": f"{SERVICE}-canary-t1"},
        )
        ecs_stub.add_response("describe_tasks", {"tasks": [task]})
        ecs_stub.add_response("describe_task_definition", describe_td(TD2, "1.2.3"))
        elb_stub.add_response(
            "describe_target_health",
            {
                "TargetHealthDescriptions": [
                    {
                        "Target": {"Id": "10.0.1.7", "Port": 8080},
                        "TargetHealth": {"State": "unhealthy", "Reason": "Target.ResponseCodeMismatch"},
                    }
                ]
            },
            {"TargetGroupArn": tg},
        )
        tasks = backend.platform.canary_tasks(target, "dep-t1")
    assert [(t.task_id, t.version, t.health) for t in tasks] == [("t1", "1.2.3", "UNHEALTHY")]


def test_canary_service_asks_for_its_deployment_configuration() -> None:
    """moto drops deploymentConfiguration on create_service; the request must carry it."""
    backend, target = offline()
    ecs = backend.platform.session.client("ecs")  # type: ignore[attr-defined]
    stable = service(TD1, [])["services"][0] | {
        "launchType": "FARGATE",
        "loadBalancers": [{"targetGroupArn": "tg", "containerName": "app", "containerPort": 8080}],
    }
    with Stubber(ecs) as stub:
        stub.add_response(  # the stable service and the canary's name in one request; the canary does not exist
            "describe_services",
            {"services": [stable], "failures": [{"reason": "MISSING"}]},
            {"cluster": CLUSTER, "services": [SERVICE, f"{SERVICE}-canary-t2"]},
        )
        stub.add_response(
            "create_service",
            {"service": {}},
            {
                "cluster": CLUSTER,
                "serviceName": f"{SERVICE}-canary-t2",
                "taskDefinition": TD2,
                "desiredCount": 1,
                "loadBalancers": stable["loadBalancers"],
                "launchType": "FARGATE",
                "deploymentConfiguration": {"minimumHealthyPercent": 0, "maximumPercent": 200},
                "tags": [
                    {"key": "runbook:canary-of", "value": SERVICE},
                    {"key": "runbook:deployment", "value": "dep-t2"},
                ],
            },
        )
        assert backend.platform.start_canary(target, "dep-t2", _td(2), 1) == []  # ECS has not scheduled tasks yet
        stub.assert_no_pending_responses()


def test_throttling_on_every_third_call_is_absorbed(world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "4")
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, ctx: 0.01)
    backend, target = offline()
    ecs = backend.platform.session.client("ecs")  # type: ignore[attr-defined]
    throttle = every_third()
    inject(ecs, "ecs", throttle)
    for _ in range(3):
        status = backend.platform.describe_service(target)
        assert status.version == "1.2.2" and len(status.tasks) == 4
    assert throttle.calls["n"] >= 9  # type: ignore[attr-defined]


def test_aws_errors_become_one_sentence(world: Any) -> None:
    backend, target = offline()
    ecs = backend.platform.session.client("ecs")  # type: ignore[attr-defined]
    inject(ecs, "ecs.DescribeServices", lambda: error_response("AccessDeniedException", "no"))
    with pytest.raises(
        AccessDenied, match="lacks ecs:DescribeServices on ECS service checkout-api in cluster prod"
    ):
        backend.platform.describe_service(target)
    backend, target = offline()
    ecs = backend.platform.session.client("ecs")  # type: ignore[attr-defined]
    inject(ecs, "ecs.DescribeServices", lambda: error_response("ExpiredTokenException", "expired"))
    with pytest.raises(BackendError, match="credentials have expired"):
        backend.platform.describe_service(target)


def _td(revision: int) -> Any:
    from tools.models import TaskDefinition

    arn = TD1 if revision == 1 else TD2
    return TaskDefinition(
        family=SERVICE,
        revision=revision,
        container="app",
        image="x",
        version="v",
        cpu=0,
        memory_mb=0,
        arn=arn,
    )
