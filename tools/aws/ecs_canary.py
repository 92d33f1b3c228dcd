"""The canary on ECS: a `<service>-canary` service running the new revision.

Shared mode (default): the canary joins the stable service's target groups, so it gets traffic in
proportion to its task count. Weighted mode: it registers on `canary_target_group_arn` and the
listener (or rule) forwards `canary_percent` of the traffic to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tools.aws.errors import aws_call
from tools.backend import BackendError
from tools.models import ServiceTarget, TaskDefinition, TaskHealth

if TYPE_CHECKING:
    from tools.aws.ecs import EcsPlatform

# What the canary copies from the stable service to run the same way.
COPIED = (
    "launchType",
    "capacityProviderStrategy",
    "platformVersion",
    "networkConfiguration",
    "placementConstraints",
    "placementStrategy",
    "healthCheckGracePeriodSeconds",
    "enableExecuteCommand",
    "serviceRegistries",
)


def canary_name(target: ServiceTarget) -> str:
    return f"{target.name}-canary"


def _weighted(target: ServiceTarget) -> bool:
    cfg = target.config.ecs
    return bool(cfg.canary_target_group_arn and (cfg.listener_arn or cfg.listener_rule_arn))


def _load_balancers(target: ServiceTarget, stable: dict[str, Any]) -> list[dict[str, Any]]:
    entries = [dict(lb) for lb in stable.get("loadBalancers", [])]
    cfg = target.config.ecs
    if not cfg.canary_target_group_arn:
        return entries
    first = entries[0] if entries else {}
    port = cfg.container_port or first.get("containerPort")
    if port is None:
        raise BackendError(
            f"{target.key}: the stable service has no load balancer entry to copy the container"
            " port from; set ecs.container_port."
        )
    return [
        {
            "targetGroupArn": cfg.canary_target_group_arn,
            "containerName": first.get("containerName", target.config.container),
            "containerPort": port,
        }
    ]


def start(
    platform: EcsPlatform, target: ServiceTarget, task_definition: TaskDefinition, count: int
) -> list[TaskHealth]:
    if count < 1:
        raise BackendError(f"A canary needs at least one task, got {count}.")
    stable = platform.service(target.cluster, target.name)
    assert stable is not None
    platform.stable_target_groups(target, stable)  # remembered for the canary's health checks
    name, where = canary_name(target), f"ECS service {canary_name(target)} in cluster {target.cluster}"
    existing = platform.service(target.cluster, name, required=False)
    revision = task_definition.arn or task_definition.ref
    if existing and existing.get("status") == "DRAINING":
        raise BackendError(f"The previous canary {name} is still draining; retry in a minute.")
    if existing:  # left over by a deploy that died: reuse it
        with aws_call("ecs:UpdateService", where):
            platform.ecs.update_service(
                cluster=target.cluster, service=name, taskDefinition=revision, desiredCount=count
            )
    else:
        args = {key: stable[key] for key in COPIED if stable.get(key) not in (None, [], {})}
        with aws_call("ecs:CreateService", where):
            platform.ecs.create_service(
                cluster=target.cluster,
                serviceName=name,
                taskDefinition=revision,
                desiredCount=count,
                loadBalancers=_load_balancers(target, stable),
                deploymentConfiguration={"minimumHealthyPercent": 0, "maximumPercent": 200},
                tags=[{"key": "runbook:canary-of", "value": target.name}],
                **args,
            )
    if _weighted(target):
        percent = round(target.config.thresholds.canary_percent)
        _set_weights(platform, target, stable, 100 - percent, percent)
    return tasks(platform, target)


def tasks(platform: EcsPlatform, target: ServiceTarget) -> list[TaskHealth]:
    name = canary_name(target)
    groups = [lb["targetGroupArn"] for lb in _canary_lbs(platform, target)]
    return platform.task_health(target, platform.raw_tasks(target.cluster, name), groups)


def _canary_lbs(platform: EcsPlatform, target: ServiceTarget) -> list[dict[str, Any]]:
    if target.config.ecs.canary_target_group_arn:
        return [{"targetGroupArn": target.config.ecs.canary_target_group_arn}]
    return [{"targetGroupArn": arn} for arn in platform.stable_target_groups(target)]


def remove(platform: EcsPlatform, target: ServiceTarget) -> None:
    name, where = canary_name(target), f"ECS service {canary_name(target)} in cluster {target.cluster}"
    platform.canary_versions.pop(target.key, None)
    if _weighted(target):  # traffic back to stable first, then the tasks go
        _set_weights(platform, target, None, 100, None)
    existing = platform.service(target.cluster, name, required=False)
    if existing is None or existing.get("status") == "DRAINING":
        return
    with aws_call("ecs:UpdateService", where):
        platform.ecs.update_service(cluster=target.cluster, service=name, desiredCount=0)
    with aws_call("ecs:DeleteService", where):
        platform.ecs.delete_service(cluster=target.cluster, service=name, force=True)


def _set_weights(
    platform: EcsPlatform,
    target: ServiceTarget,
    stable: dict[str, Any] | None,
    stable_weight: int,
    canary_weight: int | None,
) -> None:
    cfg = target.config.ecs
    weights = {arn: stable_weight for arn in platform.stable_target_groups(target, stable)}
    if canary_weight and cfg.canary_target_group_arn:
        weights[cfg.canary_target_group_arn] = canary_weight
    platform.lbs.set_weights(cfg.listener_arn, cfg.listener_rule_arn, weights)
