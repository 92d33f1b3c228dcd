"""ECS tasks: their health (container health check and load balancer targets), and why they stopped."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tools.aws.errors import aws_call
from tools.models import ServiceTarget, TaskHealth

if TYPE_CHECKING:
    from tools.aws.ecs import EcsPlatform

STATUSES = {
    "PROVISIONING": "PROVISIONING",
    "PENDING": "PENDING",
    "ACTIVATING": "PENDING",
    "RUNNING": "RUNNING",
    "DEACTIVATING": "STOPPING",
    "STOPPING": "STOPPING",
    "DEPROVISIONING": "STOPPING",
    "STOPPED": "STOPPED",
}


def task_ip(task: dict[str, Any]) -> str | None:
    for attachment in task.get("attachments", []):
        for detail in attachment.get("details", []):
            if detail.get("name") == "privateIPv4Address":
                return str(detail["value"])
    for container in task.get("containers", []):
        for interface in container.get("networkInterfaces", []):
            if interface.get("privateIpv4Address"):
                return str(interface["privateIpv4Address"])
    return None


def task_health(
    platform: EcsPlatform, target: ServiceTarget, tasks: list[dict[str, Any]], groups: list[str]
) -> list[TaskHealth]:
    """Each task's health from its container health check and, when it sits behind target groups, the load
    balancer's verdict on its target: a task the load balancer does not know yet, or still checks
    (`initial`), is UNKNOWN (not yet judged), never HEALTHY."""
    by_target = platform.lbs.target_health(groups) if groups and tasks else {}
    by_id: dict[str, list[str]] = {}
    for (ident, _port), state in by_target.items():
        by_id.setdefault(ident, []).append(state)
    instances = instance_ids(platform, target.cluster, tasks) if groups else {}
    out = []
    for task in tasks:
        container = task.get("healthStatus", "UNKNOWN")
        registered: bool | None = None
        health = "UNHEALTHY" if container == "UNHEALTHY" else ("HEALTHY" if container == "HEALTHY" else "UNKNOWN")
        if groups:
            states = _target_states(task, instances, by_target, by_id)
            registered = bool(states)
            balancer = ("UNHEALTHY" if "UNHEALTHY" in states
                        else "HEALTHY" if states and all(s == "HEALTHY" for s in states) else "UNKNOWN")
            health = "UNHEALTHY" if "UNHEALTHY" in (container, balancer) else balancer
        out.append(
            TaskHealth(
                task_id=task["taskArn"].rsplit("/", 1)[-1],
                version=platform.model(target, task["taskDefinitionArn"]).version,
                status=STATUSES.get(task.get("lastStatus", ""), "PENDING"),  # type: ignore[arg-type]
                health=health,  # type: ignore[arg-type]
                started_at=task.get("startedAt"),
                registered=registered,
            )
        )
    return out

def _target_states(
    task: dict[str, Any],
    instances: dict[str, str],
    by_target: Mapping[tuple[str, int | None], str],
    by_id: Mapping[str, list[str]],
) -> list[str]:
    """The load balancer's states for the task's targets: its IP (awsvpc), or its EC2 instance and the
    host ports of its containers (bridge and host mode: one instance serves several tasks)."""
    ip = task_ip(task)
    if ip:
        return by_id.get(ip, [])
    instance = instances.get(task.get("containerInstanceArn") or "")
    if not instance:
        return []
    ports = [int(b["hostPort"]) for c in task.get("containers", []) for b in c.get("networkBindings", [])
             if b.get("hostPort")]
    return [by_target[(instance, port)] for port in ports if (instance, port) in by_target]

def instance_ids(platform: EcsPlatform, cluster: str, tasks: list[dict[str, Any]]) -> dict[str, str]:
    """Container instance ARN -> EC2 instance id, for the tasks on EC2 instances (read once each)."""
    wanted = sorted({t["containerInstanceArn"] for t in tasks if t.get("containerInstanceArn") and not task_ip(t)})
    missing = [arn for arn in wanted if arn not in platform._instances]
    for start in range(0, len(missing), 100):
        with aws_call("ecs:DescribeContainerInstances", f"container instances of cluster {cluster}"):
            found = platform.ecs.describe_container_instances(
                cluster=cluster, containerInstances=missing[start : start + 100]
            )["containerInstances"]
        for item in found:
            platform._instances[item["containerInstanceArn"]] = item.get("ec2InstanceId", "")
    return {arn: platform._instances[arn] for arn in wanted if platform._instances.get(arn)}


def explain_failure(platform: EcsPlatform, cluster: str, name: str) -> list[str]:
    """Why tasks of ECS service `name` stopped or would not start:
    the stopped tasks' reasons (CannotPullContainerError, a failed health check, …) and the last service
    events. Only read when something failed."""
    where = f"tasks of ECS service {name} in cluster {cluster}"
    lines: list[str] = []
    with aws_call("ecs:ListTasks", where):
        arns = platform.ecs.list_tasks(cluster=cluster, serviceName=name, desiredStatus="STOPPED",
                                   maxResults=100).get("taskArns", [])
    tasks: list[dict[str, Any]] = []
    if arns:
        with aws_call("ecs:DescribeTasks", where):
            tasks = [t for t in platform.ecs.describe_tasks(cluster=cluster, tasks=arns[:100])["tasks"]
                     if t.get("group") == f"service:{name}"]
    stopped: dict[str, list[str]] = {}  # reason -> the tasks that stopped for it, newest first
    for task in sorted(tasks, key=lambda t: str(t.get("stoppedAt") or ""), reverse=True):
        reasons = [str(task.get("stoppedReason") or "")]
        reasons += [f"{c.get('name')}: {c['reason']}" for c in task.get("containers", []) if c.get("reason")]
        text = "; ".join(r for r in reasons if r)
        if text:
            stopped.setdefault(text, []).append(task["taskArn"].rsplit("/", 1)[-1])
    for text, ids in list(stopped.items())[:3]:
        many = f"{len(ids)} tasks stopped (last {ids[0]})" if len(ids) > 1 else f"Task {ids[0]} stopped"
        lines.append(f"{many}: {text}")
    service = platform.service(cluster, name, required=False)
    for event in (service or {}).get("events", [])[:3]:
        lines.append(f"ECS event ({event.get('createdAt'):%H:%M:%S}): {event.get('message')}"
                     if event.get("createdAt") else f"ECS event: {event.get('message')}")
    return lines
