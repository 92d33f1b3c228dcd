"""CloudWatch metrics: requests, 5xx and p99 latency per version, from ALB or a custom namespace.

ALB metrics exist per target group, so a version is told apart only in weighted mode (the canary
on its own target group). A custom namespace carries a version dimension and always can.

Slow requests (the canary judge compares how many requests each version serves slower than a
latency) are CloudWatch's trimmed count of the latency metric, `TC(x:)`: the requests whose latency is
above x, in the same GetMetricData call. It works on ALB's `TargetResponseTime` and on a custom latency
metric published as raw values (PutMetricData `Values`/`Counts`, not `StatisticValues`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from tools.aws.elbv2 import LoadBalancers
from tools.aws.errors import aws_call
from tools.aws.session import AwsSession
from tools.backend import BackendError
from tools.models import MetricPoint, MetricWindow, ServiceTarget

ALB_DEFAULTS = ("RequestCount", "HTTPCode_Target_5XX_Count", "TargetResponseTime", 1000.0)
CUSTOM_DEFAULTS = ("RequestCount", "Errors5xx", "Latency", 1.0)
HIGH_RESOLUTION_PERIODS = (1, 5, 10, 30)
SETTLE_SECONDS = {"alb": 180.0, "custom": 60.0}  # ALB: per minute, 1-3 min late; PutMetricData: about 1 min

Dimensions = list[dict[str, str]]


def _period(requested: int, alb: bool) -> int:
    if not alb and requested in HIGH_RESOLUTION_PERIODS:
        return requested
    return max(60, -(-requested // 60) * 60)  # ALB publishes per minute


def _aligned(start: datetime, end: datetime, period: int) -> tuple[datetime, datetime]:
    """The window widened to whole periods, as CloudWatch buckets it (start down, end up)."""
    epoch = datetime(1970, 1, 1, tzinfo=start.tzinfo)
    down = int((start - epoch).total_seconds()) // period * period
    up = -(-int(math.ceil((end - epoch).total_seconds())) // period) * period
    return epoch + timedelta(seconds=down), epoch + timedelta(seconds=up)


class AwsMetrics:
    def __init__(
        self,
        session: AwsSession,
        load_balancers: LoadBalancers,
        stable_target_groups: Callable[[ServiceTarget], list[str]],
        canary_version: Callable[[ServiceTarget], str | None],
    ) -> None:
        self.session = session
        self.lbs = load_balancers
        self.stable_target_groups = stable_target_groups
        self.canary_version = canary_version
        self._lb_dimension: dict[str, str | None] = {}
        self._versions: dict[str, list[str]] = {}  # service -> the versions ListMetrics showed, once per command

    def preflight(self, target: ServiceTarget) -> list[str]:
        cfg = target.config.ecs
        if cfg.metrics_source == "custom" and not cfg.metrics_namespace:
            return [f"{target.key}: metrics_source is 'custom' but ecs.metrics_namespace is not set."]
        groups = [cfg.canary_target_group_arn] if cfg.canary_target_group_arn else []
        if cfg.metrics_source == "alb" and any(
            self.lbs.is_network(arn) for arn in groups + self.stable_target_groups(target)
        ):
            return [
                f"{target.key} is behind a Network Load Balancer, whose metrics (AWS/NetworkELB) count connections"
                " and bytes, not HTTP requests, errors or latency, so metrics_source: alb cannot judge the canary;"
                " publish per-version metrics and set metrics_source: custom."
            ]
        if cfg.metrics_source == "alb" and not cfg.canary_target_group_arn:
            return [
                f"{target.key}: ALB metrics cannot tell the canary from the stable version when both share a target"
                " group; set ecs.canary_target_group_arn (weighted mode) or metrics_source: custom."
            ]
        return []

    def settle_seconds(self, target: ServiceTarget) -> float:
        cfg = target.config.ecs
        return SETTLE_SECONDS[cfg.metrics_source] if cfg.metrics_settle_seconds is None else cfg.metrics_settle_seconds

    def observe(
        self,
        target: ServiceTarget,
        version: str | None,
        start: datetime,
        end: datetime,
        period_seconds: int = 10,
        slower_than_ms: Sequence[float] = (),
    ) -> MetricWindow:
        return self.observe_versions(target, [version], start, end, period_seconds, slower_than_ms)[0]

    def observe_versions(
        self,
        target: ServiceTarget,
        versions: Sequence[str | None],
        start: datetime,
        end: datetime,
        period_seconds: int = 10,
        slower_than_ms: Sequence[float] = (),
    ) -> list[MetricWindow]:
        """One window per version, all read with one GetMetricData (a canary judgement is one call)."""
        cfg = target.config.ecs
        alb = cfg.metrics_source == "alb"
        requests, errors, latency, to_ms = ALB_DEFAULTS if alb else CUSTOM_DEFAULTS
        names = (cfg.requests_metric or requests, cfg.errors_metric or errors, cfg.latency_metric or latency)
        namespace = "AWS/ApplicationELB" if alb else cfg.metrics_namespace
        if not namespace:
            raise BackendError(
                f"{target.key}: metrics_source is 'custom' but ecs.metrics_namespace is not set."
            )
        sources: list[Dimensions] = []
        ranges: list[range] = []
        for version in versions:
            mine = self._alb_sources(target, version) if alb else self._custom_sources(target, version, names[0])
            ranges.append(range(len(sources), len(sources) + len(mine)))
            sources += mine
        period = _period(period_seconds, alb)
        if end > start:  # whole periods, so requests per minute divide by the time the data covers
            start, end = _aligned(start, end, period)
        slow = tuple(slower_than_ms) if cfg.count_slow_requests else ()
        points = self._query(
            namespace, names, cfg.latency_statistic, sources, start, end, period, cfg.latency_to_ms or to_ms, ranges,
            slow,
        )
        return [
            MetricWindow(version=version, start=start, end=end, points=found, period_seconds=period)
            for version, found in zip(versions, points, strict=True)
        ]

    def _alb_sources(self, target: ServiceTarget, version: str | None) -> list[Dimensions]:
        cfg = target.config.ecs
        stable = self.stable_target_groups(target)
        if version is None:
            groups = stable + ([cfg.canary_target_group_arn] if cfg.canary_target_group_arn else [])
        elif not cfg.canary_target_group_arn:
            raise BackendError(
                f"{target.key}: ALB metrics cannot tell versions apart when the canary shares the stable target"
                " group; set ecs.canary_target_group_arn (weighted mode) or metrics_source: custom."
            )
        elif version == self.canary_version(target):
            groups = [cfg.canary_target_group_arn]
        else:
            groups = stable
        return [self._alb_dimensions(arn, target) for arn in groups]

    def _alb_dimensions(self, target_group_arn: str, target: ServiceTarget) -> Dimensions:
        if target_group_arn not in self._lb_dimension:
            self._lb_dimension[target_group_arn] = self.lbs.load_balancer_dimension(target_group_arn)
        dims = [{"Name": "TargetGroup", "Value": target_group_arn.split(":")[-1]}]
        # A canary target group reached only through a weighted rule may list no load balancer of its own.
        balancer = self._lb_dimension[target_group_arn] or _listener_balancer(target)
        return dims + ([{"Name": "LoadBalancer", "Value": balancer}] if balancer else [])

    def _custom_sources(
        self, target: ServiceTarget, version: str | None, requests_metric: str
    ) -> list[Dimensions]:
        cfg = target.config.ecs
        base = [{"Name": cfg.service_dimension, "Value": target.name}]
        base += [{"Name": k, "Value": v} for k, v in sorted(cfg.extra_dimensions.items())]
        if version is not None:
            return [base + [{"Name": cfg.version_dimension, "Value": version}]]
        # The whole service: every version that reported requests (CloudWatch does not sum across a dimension),
        # listed once per command (`ask` reads several windows; a deploy names its versions instead).
        if target.key in self._versions:
            return [base + [{"Name": cfg.version_dimension, "Value": v}] for v in self._versions[target.key]]
        versions: set[str] = set()
        paginator = self.session.client("cloudwatch").get_paginator("list_metrics")
        with aws_call("cloudwatch:ListMetrics", f"metrics of {target.name} in {cfg.metrics_namespace}"):
            for page in paginator.paginate(
                Namespace=cfg.metrics_namespace,
                MetricName=requests_metric,
                Dimensions=[{"Name": d["Name"], "Value": d["Value"]} for d in base],
            ):
                for metric in page.get("Metrics", []):
                    dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
                    if cfg.version_dimension in dims and len(dims) == len(base) + 1:
                        versions.add(dims[cfg.version_dimension])
        self._versions[target.key] = sorted(versions)
        return [base + [{"Name": cfg.version_dimension, "Value": v}] for v in sorted(versions)]

    def _query(
        self,
        namespace: str,
        names: tuple[str, str, str],
        latency_stat: str,
        sources: list[Dimensions],
        start: datetime,
        end: datetime,
        period: int,
        to_ms: float,
        ranges: list[range],
        slower_than_ms: tuple[float, ...] = (),
    ) -> list[list[MetricPoint]]:
        """The points of each range of `sources` (each range summed: one version), from one GetMetricData,
        with the trimmed counts of requests slower than each of `slower_than_ms`."""
        if not sources or end <= start:
            return [[] for _ in ranges]
        queries: list[dict[str, Any]] = []
        for index, dims in enumerate(sources):
            stats = [("r", names[0], "Sum"), ("e", names[1], "Sum"), ("l", names[2], latency_stat)]
            stats += [(f"s{j}x", names[2], slow_statistic(ms / to_ms)) for j, ms in enumerate(slower_than_ms)]
            for prefix, name, stat in stats:
                queries.append(
                    {
                        "Id": f"{prefix}{index}",
                        "ReturnData": True,
                        "MetricStat": {
                            "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dims},
                            "Period": period,
                            "Stat": stat,
                        },
                    }
                )
        series: dict[str, dict[datetime, float]] = {}
        kwargs: dict[str, Any] = {
            "MetricDataQueries": queries,
            "StartTime": start,
            "EndTime": end,
            "ScanBy": "TimestampAscending",
        }
        with aws_call("cloudwatch:GetMetricData", f"metrics in {namespace}"):
            while True:
                page = self.session.client("cloudwatch").get_metric_data(**kwargs)
                for result in page.get("MetricDataResults", []):
                    values = series.setdefault(result["Id"], {})
                    values.update(zip(result.get("Timestamps", []), result.get("Values", []), strict=False))
                if not page.get("NextToken"):
                    break
                kwargs["NextToken"] = page["NextToken"]
        return [self._points(series, indexes, to_ms, slower_than_ms) for indexes in ranges]

    @staticmethod
    def _points(series: dict[str, dict[datetime, float]], indexes: range, to_ms: float,
                slower_than_ms: tuple[float, ...] = ()) -> list[MetricPoint]:
        stamps = sorted({t for i in indexes for key in (f"r{i}", f"e{i}", f"l{i}") for t in series.get(key, {})})
        points = []
        for stamp in stamps:
            requests = errors = 0.0
            weighted = weight = 0.0
            for index in indexes:
                count = series.get(f"r{index}", {}).get(stamp, 0.0)
                requests += count
                errors += series.get(f"e{index}", {}).get(stamp, 0.0)
                latency = series.get(f"l{index}", {}).get(stamp)
                if latency is not None:
                    weighted += latency * to_ms * max(count, 1e-9)
                    weight += max(count, 1e-9)
            slow = {
                ms: round(sum(series.get(f"s{j}x{index}", {}).get(stamp, 0.0) for index in indexes))
                for j, ms in enumerate(slower_than_ms)
            }
            points.append(
                MetricPoint(
                    timestamp=stamp,
                    requests=round(requests),
                    errors=round(errors),
                    p99_ms=weighted / weight if weight else None,
                    slow_requests=slow,
                )
            )
        return points


def slow_statistic(threshold: float) -> str:
    """CloudWatch's count of the values above `threshold` (in the metric's unit): "TC(0.18:)"."""
    text = f"{threshold:.10f}".rstrip("0").rstrip(".")
    return f"TC({text or '0'}:)"


def _listener_balancer(target: ServiceTarget) -> str | None:
    """'app/name/id' from a listener or rule ARN (…:listener/app/name/id/listener-id)."""
    arn = target.config.ecs.listener_arn or target.config.ecs.listener_rule_arn
    if not arn or ":listener" not in arn:
        return None
    return "/".join(arn.split(":", 5)[5].split("/")[1:4])
