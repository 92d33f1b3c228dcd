"""ECR, CloudWatch metrics and alarms, Logs, Secrets Manager/SSM against in-process moto."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.tools.aws.conftest import ecs_config
from tests.tools.aws.world import SERVICE, World
from tools.backend import Backend, NotFound, target_for
from tools.config import parse_config
from tools.models import ServiceTarget


def test_find_image(backend: Backend, target: ServiceTarget) -> None:
    image = backend.registry.find_image(target.config.image_repository, "1.2.3")
    assert image is not None and image.digest.startswith("sha256:") and image.size_bytes > 0
    assert image.uri.endswith("/checkout-api:1.2.3") and image.pushed_at.tzinfo is not None
    assert backend.registry.find_image(target.config.image_repository, "9.9.9") is None
    assert backend.registry.find_image("checkout-api", "1.2.2") is not None  # a bare repository name
    with pytest.raises(NotFound, match="ECR repository nope does not exist"):
        backend.registry.find_image("nope", "1.0")


def test_metrics_per_version_and_for_the_whole_service(
    backend: Backend, target: ServiceTarget, world: World
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    world.publish("1.2.2", start, 2, requests=100, errors=2, latency_ms=200)
    world.publish("1.2.3", start, 2, requests=50, errors=0, latency_ms=100)
    end = start + timedelta(minutes=2)
    stable = backend.metrics.observe(target, "1.2.2", start, end)
    assert (stable.requests, stable.errors, stable.p99_ms) == (1200, 24, 200)
    canary = backend.metrics.observe(target, "1.2.3", start, end)
    assert (canary.requests, canary.errors) == (600, 0)
    both = backend.metrics.observe(target, None, start, end)
    assert both.requests == 1800 and both.p99_ms is not None and 100 < both.p99_ms < 200
    # Several versions in one request; the versions of "the whole service" are listed once per command.
    calls: list[str] = []
    backend.metrics.session.client("cloudwatch").meta.events.register(  # type: ignore[attr-defined]
        "before-call", lambda model, **_: calls.append(model.name))
    pair = backend.metrics.observe_versions(target, ["1.2.3", "1.2.2"], start, end)
    assert [(w.version, w.requests) for w in pair] == [("1.2.3", 600), ("1.2.2", 1200)]
    assert backend.metrics.observe(target, None, start - timedelta(minutes=1), end).requests == 1800
    assert calls == ["GetMetricData", "GetMetricData"]  # no ListMetrics again


def test_alb_metrics_in_weighted_mode(world: World) -> None:
    config = parse_config(
        ecs_config(
            {
                "metrics_source": "alb",
                "canary_target_group_arn": world.canary_tg_arn,
                "listener_arn": world.listener_arn,
                "latency_statistic": "Maximum",
            }
        ),
        "t",
    )
    from tools.aws import open_ecs_backend

    backend, target = open_ecs_backend(config, "production"), target_for(config, SERVICE, "production")
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=10)
    lb_dim = world.lb_arn.split(":loadbalancer/")[1]
    for arn, count in ((world.tg_arn, 900), (world.canary_tg_arn, 100)):
        dims = [
            {"Name": "TargetGroup", "Value": arn.split(":")[-1]},
            {"Name": "LoadBalancer", "Value": lb_dim},
        ]
        world.cloudwatch.put_metric_data(
            Namespace="AWS/ApplicationELB",
            MetricData=[
                {
                    "MetricName": name,
                    "Dimensions": dims,
                    "Timestamp": start + timedelta(minutes=m),
                    "Value": value,
                }
                for m in range(3)
                for name, value in (
                    ("RequestCount", count),
                    ("HTTPCode_Target_5XX_Count", 1),
                    ("TargetResponseTime", 0.2),
                )
            ],
        )
    backend.platform.start_canary(target, "dep-1", backend.platform.current_task_definition(target), 1)
    backend.platform.canary_versions[target.key] = "1.2.3"  # type: ignore[attr-defined]
    end = start + timedelta(minutes=3)
    assert backend.metrics.observe(target, "1.2.3", start, end).requests == 300
    stable = backend.metrics.observe(target, "1.2.2", start, end)
    assert stable.requests == 2700 and stable.p99_ms == pytest.approx(200)
    assert backend.metrics.observe(target, None, start, end).requests == 3000


def test_alb_metrics_cannot_split_a_shared_target_group(backend: Backend, world: World) -> None:
    config = parse_config(ecs_config({"metrics_source": "alb"}), "t")
    target = target_for(config, SERVICE, "production")
    now = datetime.now(UTC)
    with pytest.raises(Exception, match="canary_target_group_arn"):
        backend.metrics.observe(target, "1.2.3", now - timedelta(minutes=1), now)


def test_alarms_by_prefix_names_and_tags(backend: Backend, target: ServiceTarget, world: World) -> None:
    assert backend.incidents.active_alarms(target) == []
    world.cloudwatch.set_alarm_state(AlarmName=f"{SERVICE}-5xx", StateValue="ALARM", StateReason="too many")
    alarms = backend.incidents.active_alarms(target)
    assert [(a.name, a.reason) for a in alarms] == [(f"{SERVICE}-5xx", "too many")]
    world.cloudwatch.put_metric_alarm(
        AlarmName="db-cpu",
        MetricName="CPU",
        Namespace="AWS/RDS",
        Statistic="Average",
        Period=60,
        EvaluationPeriods=1,
        Threshold=90,
        ComparisonOperator="GreaterThanThreshold",
        Tags=[{"Key": "service", "Value": SERVICE}],
    )
    world.cloudwatch.set_alarm_state(AlarmName="db-cpu", StateValue="ALARM", StateReason="hot")
    tagged = target.model_copy(deep=True)
    tagged.config.ecs.alarm_tags = {"service": SERVICE}
    assert {a.name for a in backend.incidents.active_alarms(tagged)} == {"db-cpu"}
    named = target.model_copy(deep=True)
    named.config.ecs.alarm_names = ["db-cpu"]
    assert {a.name for a in backend.incidents.active_alarms(named)} == {"db-cpu"}


def test_error_events(backend: Backend, target: ServiceTarget) -> None:
    now = datetime.now(UTC)
    found = backend.logs.error_events(target, now - timedelta(minutes=5), now + timedelta(minutes=1))
    assert [(e.message, e.task_id) for e in found.events] == [("ERROR payment timeout", "abc123")]
    assert (found.total, found.complete) == (1, True)


def test_secrets_readable_without_exposing_values(backend: Backend, world: World) -> None:
    ok = backend.secrets.check_readable("DATABASE_URL", world.secret_arn)
    assert ok.readable and "s3cret" not in ok.model_dump_json()
    assert backend.secrets.check_readable("API_KEY", "/prod/checkout/api-key").readable
    missing = backend.secrets.check_readable("X", "/prod/nothing")
    assert not missing.readable and missing.reason == "does not exist"


def test_settle_seconds_defaults_and_override(backend: Backend, target: ServiceTarget) -> None:
    assert backend.metrics.settle_seconds(target) == 60  # custom metrics
    alb = parse_config(ecs_config({"metrics_source": "alb"}), "t")
    assert backend.metrics.settle_seconds(target_for(alb, SERVICE, "production")) == 180
    quick = parse_config(ecs_config({"metrics_settle_seconds": 15}), "t")
    assert backend.metrics.settle_seconds(target_for(quick, SERVICE, "production")) == 15


def test_windows_are_read_in_whole_periods(backend: Backend, target: ServiceTarget, world: World) -> None:
    minute = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
    world.publish("1.2.3", minute, 2, requests=10)  # a point every 10 s
    window = backend.metrics.observe(target, "1.2.3", minute + timedelta(seconds=33), minute + timedelta(seconds=61))
    assert (window.start, window.end) == (minute + timedelta(seconds=30), minute + timedelta(seconds=70))
    assert window.requests == 40 and window.requests_per_minute == 60
    alb = parse_config(ecs_config({"metrics_source": "alb", "canary_target_group_arn": world.canary_tg_arn}), "t")
    whole = backend.metrics.observe(
        target_for(alb, SERVICE, "production"), None, minute + timedelta(seconds=33), minute + timedelta(seconds=61)
    )
    assert (whole.start, whole.end) == (minute, minute + timedelta(minutes=2))
