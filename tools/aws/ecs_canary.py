"""The canary on ECS: one `<service>-canary-<short id>` service per deployment, running the new revision.

The canary service carries its deployment in its name and in the tag `runbook:deployment`, so two
deploys never share (or delete) each other's canary, and a leftover is traced to the deploy that
made it.

Shared mode (default): the canary joins the stable service's target groups, so it gets traffic in
proportion to its task count. Weighted mode: it registers on `canary_target_group_arn`, and the
listener (or rule) forwards `canary_percent` of the traffic to it once every canary task is registered
there and healthy (before that, a task still starting would be sent requests it cannot serve).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from tools.aws.errors import aws_call, error_code
from tools.backend import BackendError, NotFound
from tools.models import CanaryInfo, ServiceTarget, TaskDefinition, TaskHealth

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
    "propagateTags",
    "enableECSManagedTags",
)
# What a service keeps on its deployments rather than on itself (DescribeServices): from the primary one.
COPIED_FROM_DEPLOYMENT = ("volumeConfigurations",)
CANARY_OF_TAG = "runbook:canary-of"
DEPLOYMENT_TAG = "runbook:deployment"


def short_id(deployment_id: str) -> str:
    """'dep-1a2b3c4d5e' -> '1a2b3c4d5e': what a canary's name carries of its deployment."""
    return re.sub(r"[^A-Za-z0-9_-]", "", deployment_id.removeprefix("dep-"))[:32] or "x"


def canary_prefix(target: ServiceTarget) -> str:
    return f"{target.name}-canary"


def canary_name(target: ServiceTarget, deployment_id: str) -> str:
    return f"{canary_prefix(target)}-{short_id(deployment_id)}"


def weighted(target: ServiceTarget) -> bool:
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


def _primary(service: dict[str, Any]) -> dict[str, Any]:
    deployments = service.get("deployments") or []
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), deployments[0] if deployments else {})
    return dict(primary)


def _service_connect(stable: dict[str, Any]) -> dict[str, Any] | None:
    """The stable service's Service Connect settings, as a client only. Discovery names and client aliases are
    unique in a namespace, so the canary reaches its dependencies the way the service does while callers that
    use Service Connect keep reaching the stable version (the canary's traffic comes from the load balancer)."""
    config = dict(_primary(stable).get("serviceConnectConfiguration") or {})
    if not config.get("enabled"):
        return None
    config.pop("services", None)
    return config


def create_arguments(
    target: ServiceTarget, deployment_id: str, stable: dict[str, Any], revision: str, count: int
) -> dict[str, Any]:
    """CreateService arguments of the canary: the stable service's way of running, the new revision."""
    args = {key: stable[key] for key in COPIED if stable.get(key) not in (None, [], {})}
    if args.get("propagateTags") == "NONE":
        del args["propagateTags"]
    primary = _primary(stable)
    args |= {key: primary[key] for key in COPIED_FROM_DEPLOYMENT if primary.get(key)}
    connect = _service_connect(stable)
    if connect:
        args["serviceConnectConfiguration"] = connect
    return args | {
        "cluster": target.cluster,
        "serviceName": canary_name(target, deployment_id),
        "taskDefinition": revision,
        "desiredCount": count,
        "loadBalancers": _load_balancers(target, stable),
        "deploymentConfiguration": {"minimumHealthyPercent": 0, "maximumPercent": 200},
        "tags": [{"key": CANARY_OF_TAG, "value": target.name}, {"key": DEPLOYMENT_TAG, "value": deployment_id}],
    }


def start(
    platform: EcsPlatform, target: ServiceTarget, deployment_id: str, task_definition: TaskDefinition, count: int
) -> list[TaskHealth]:
    if count < 1:
        raise BackendError(f"A canary needs at least one task, got {count}.")
    name = canary_name(target, deployment_id)
    where = f"ECS service {name} in cluster {target.cluster}"
    stable, existing = platform.services(target.cluster, [target.name, name])  # one call for both
    if stable is None:
        raise NotFound(f"ECS service {target.name} does not exist in cluster {target.cluster}.")
    platform.stable_target_groups(target, stable)  # remembered for the canary's health checks
    platform.canary_grace[target.key] = int(stable.get("healthCheckGracePeriodSeconds") or 0)
    platform.canary_counts[deployment_id] = count
    revision = task_definition.arn or task_definition.ref
    if existing and existing.get("status") == "DRAINING":
        raise BackendError(f"The previous canary {name} is still draining; retry in a minute.")
    if existing:  # this deployment's own canary, started before its process died: resize it
        with aws_call("ecs:UpdateService", where):
            platform.ecs.update_service(
                cluster=target.cluster, service=name, taskDefinition=revision, desiredCount=count
            )
    else:
        with aws_call("ecs:CreateService", where):
            platform.ecs.create_service(**create_arguments(target, deployment_id, stable, revision, count))
    return []  # ECS schedules the tasks in the seconds that follow: canary_tasks shows them


def tasks(platform: EcsPlatform, target: ServiceTarget, deployment_id: str) -> list[TaskHealth]:
    name = canary_name(target, deployment_id)
    groups = [lb["targetGroupArn"] for lb in _canary_lbs(platform, target)]
    expected = platform.canary_counts.get(deployment_id)
    found = platform.task_health(target, platform.raw_tasks(target.cluster, name, expected), groups)
    if weighted(target) and deployment_id not in platform.shifted and found:
        # The listener sends the canary its share only once every canary task is registered and healthy.
        if all(t.status == "RUNNING" and t.health == "HEALTHY" and t.registered for t in found):
            percent = round(target.config.thresholds.canary_percent)
            _set_weights(platform, target, None, 100 - percent, percent)
            platform.shifted.add(deployment_id)
    return found


def _canary_lbs(platform: EcsPlatform, target: ServiceTarget) -> list[dict[str, Any]]:
    if target.config.ecs.canary_target_group_arn:
        return [{"targetGroupArn": target.config.ecs.canary_target_group_arn}]
    return [{"targetGroupArn": arn} for arn in platform.stable_target_groups(target)]


def remove(platform: EcsPlatform, target: ServiceTarget, deployment_id: str) -> None:
    name = canary_name(target, deployment_id)
    where = f"ECS service {name} in cluster {target.cluster}"
    platform.canary_versions.pop(target.key, None)
    platform.canary_counts.pop(deployment_id, None)
    if weighted(target):  # traffic back to stable first, then the tasks go
        _set_weights(platform, target, None, 100, None)
        platform.shifted.discard(deployment_id)
    # A forced delete scales the service to zero itself; a canary that is gone or already going is no error.
    try:
        with aws_call("ecs:DeleteService", where):
            platform.ecs.delete_service(cluster=target.cluster, service=name, force=True)
    except NotFound:
        return
    except BackendError as exc:
        cause = exc.__cause__
        if not (isinstance(cause, ClientError) and error_code(cause) == "ServiceNotActiveException"):
            raise


def list_all(platform: EcsPlatform, target: ServiceTarget) -> list[CanaryInfo]:
    """Every runbook canary of the service in its cluster (by name, confirmed by the `runbook:canary-of` tag)."""
    prefix = canary_prefix(target)
    names: list[str] = []
    with aws_call("ecs:ListServices", f"services in cluster {target.cluster}"):
        for page in platform.ecs.get_paginator("list_services").paginate(
            cluster=target.cluster, PaginationConfig={"PageSize": 100}
        ):
            for arn in page.get("serviceArns", []):
                name = arn.rsplit("/", 1)[-1]
                if name == prefix or name.startswith(prefix + "-"):
                    names.append(name)
    found: list[CanaryInfo] = []
    for start in range(0, len(names), 10):
        with aws_call("ecs:DescribeServices", f"canary services of {target.name} in cluster {target.cluster}"):
            services = platform.ecs.describe_services(
                cluster=target.cluster, services=names[start : start + 10], include=["TAGS"]
            )["services"]
        for svc in services:
            tags = {t["key"]: t["value"] for t in svc.get("tags", [])}
            if svc.get("status") != "ACTIVE" or tags.get(CANARY_OF_TAG) != target.name:
                continue
            found.append(
                CanaryInfo(
                    deployment_id=tags.get(DEPLOYMENT_TAG),
                    name=svc["serviceName"],
                    version=platform.model(target, svc["taskDefinition"]).version,
                    desired=int(svc.get("desiredCount", 0)),
                    running=int(svc.get("runningCount", 0)),
                )
            )
    return found


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
