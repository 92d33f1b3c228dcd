"""ECS: describe a service, read and register task definitions, roll out, roll back.

The canary (a separate `<service>-canary-<short deployment id>` service) lives in `ecs_canary.py`.
"""

from __future__ import annotations

from typing import Any

from tools.aws import ecs_canary
from tools.aws.ecs_taskdefs import copy_with_image, to_model
from tools.aws.elbv2 import LoadBalancers
from tools.aws.errors import aws_call
from tools.aws.session import AwsSession
from tools.backend import NotFound
from tools.models import (
    CanaryInfo,
    HealthCheckInfo,
    Image,
    RolloutStatus,
    ServiceStatus,
    ServiceTarget,
    TaskDefinition,
    TaskHealth,
)

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


class EcsPlatform:
    label = "ECS"

    def __init__(self, session: AwsSession, load_balancers: LoadBalancers) -> None:
        self.session = session
        self.lbs = load_balancers
        self._task_definitions: dict[
            str, tuple[dict[str, Any], list[dict[str, str]]]
        ] = {}  # immutable: cached
        self._rollouts: dict[
            tuple[str, str], tuple[str, str | None]
        ] = {}  # service -> (revision ARN, deployment id)
        self._stable_groups: dict[str, list[str]] = {}
        self.canary_versions: dict[str, str | None] = {}

    @property
    def ecs(self) -> Any:
        return self.session.client("ecs")

    # --- reading -------------------------------------------------------------------------------

    def service(self, cluster: str, name: str, required: bool = True) -> dict[str, Any] | None:
        with aws_call("ecs:DescribeServices", f"ECS service {name} in cluster {cluster}"):
            found = self.ecs.describe_services(cluster=cluster, services=[name])["services"]
        live = [s for s in found if s.get("status") != "INACTIVE"]
        if live:
            return dict(live[0])
        if required:
            raise NotFound(f"ECS service {name} does not exist in cluster {cluster} ({self.session.region}).")
        return None

    def raw_task_definition(self, ref: str) -> tuple[dict[str, Any], list[dict[str, str]]]:
        if ref not in self._task_definitions:
            with aws_call("ecs:DescribeTaskDefinition", f"task definition {ref}"):
                out = self.ecs.describe_task_definition(taskDefinition=ref, include=["TAGS"])
            entry = (out["taskDefinition"], list(out.get("tags", [])))
            self._task_definitions[ref] = self._task_definitions[entry[0]["taskDefinitionArn"]] = entry
        return self._task_definitions[ref]

    def model(self, target: ServiceTarget, ref: str) -> TaskDefinition:
        return to_model(self.raw_task_definition(ref)[0], target.config.container)

    def stable_target_groups(self, target: ServiceTarget, service: dict[str, Any] | None = None) -> list[str]:
        if target.config.ecs.target_group_arns:
            return list(target.config.ecs.target_group_arns)
        if service is None and target.key not in self._stable_groups:
            service = self.service(target.cluster, target.name)
        if service is not None:
            self._stable_groups[target.key] = [
                lb["targetGroupArn"] for lb in service.get("loadBalancers", []) if lb.get("targetGroupArn")
            ]
        return self._stable_groups[target.key]

    def raw_tasks(self, cluster: str, name: str) -> list[dict[str, Any]]:
        arns: list[str] = []
        with aws_call("ecs:ListTasks", f"tasks of ECS service {name} in cluster {cluster}"):
            for page in self.ecs.get_paginator("list_tasks").paginate(cluster=cluster, serviceName=name):
                arns.extend(page.get("taskArns", []))
        tasks: list[dict[str, Any]] = []
        for start in range(0, len(arns), 100):
            with aws_call("ecs:DescribeTasks", f"tasks of ECS service {name} in cluster {cluster}"):
                tasks.extend(
                    self.ecs.describe_tasks(cluster=cluster, tasks=arns[start : start + 100])["tasks"]
                )
        # A service's tasks are in group "service:<name>" (this also guards against list filters ignored).
        return [t for t in tasks if t.get("group") == f"service:{name}"]

    def task_health(
        self, target: ServiceTarget, tasks: list[dict[str, Any]], groups: list[str]
    ) -> list[TaskHealth]:
        by_target = self.lbs.target_health(groups) if groups and tasks else {}
        out = []
        for task in tasks:
            signals = [task.get("healthStatus", "UNKNOWN")]
            ip = task_ip(task)
            if ip in by_target:
                signals.append(by_target[ip])
            known = [s for s in signals if s != "UNKNOWN"]
            health = "UNHEALTHY" if "UNHEALTHY" in known else ("HEALTHY" if known else "UNKNOWN")
            out.append(
                TaskHealth(
                    task_id=task["taskArn"].rsplit("/", 1)[-1],
                    version=self.model(target, task["taskDefinitionArn"]).version,
                    status=STATUSES.get(task.get("lastStatus", ""), "PENDING"),  # type: ignore[arg-type]
                    health=health,  # type: ignore[arg-type]
                    started_at=task.get("startedAt"),
                )
            )
        return out

    def describe_service(self, target: ServiceTarget) -> ServiceStatus:
        svc = self.service(target.cluster, target.name)
        assert svc is not None
        current = self.model(target, svc["taskDefinition"])
        deployments = svc.get("deployments", [])
        primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
        tasks = self.task_health(
            target, self.raw_tasks(target.cluster, target.name), self.stable_target_groups(target, svc)
        )
        return ServiceStatus(
            name=svc["serviceName"],
            cluster=target.cluster,
            platform=self.label,
            desired=svc.get("desiredCount", 0),
            running=svc.get("runningCount", 0),
            pending=svc.get("pendingCount", 0),
            version=current.version,
            task_definition=current.ref,
            image=current.image,
            last_deployed_at=primary.get("createdAt") if primary else None,
            tasks=tasks,
            deployment_in_progress=len(deployments) > 1
            or any(d.get("rolloutState") == "IN_PROGRESS" for d in deployments),
        )

    def current_task_definition(self, target: ServiceTarget) -> TaskDefinition:
        svc = self.service(target.cluster, target.name)
        assert svc is not None
        return self.model(target, svc["taskDefinition"])

    def task_definition(self, target: ServiceTarget, revision: int) -> TaskDefinition:
        family = self.current_task_definition(target).family
        return self.model(target, f"{family}:{revision}")

    def load_balancer_health_check(self, target: ServiceTarget) -> HealthCheckInfo | None:
        groups = self.stable_target_groups(target)
        return self.lbs.health_check(groups[0]) if groups else None

    # --- changing ------------------------------------------------------------------------------

    def register_revision(self, target: ServiceTarget, base: TaskDefinition, image: Image) -> TaskDefinition:
        raw, tags = self.raw_task_definition(base.arn or base.ref)
        args = copy_with_image(raw, tags, target.config.container, image.uri)
        with aws_call("ecs:RegisterTaskDefinition", f"task definition family {base.family}"):
            registered = self.ecs.register_task_definition(**args)["taskDefinition"]
        return self.model(target, registered["taskDefinitionArn"])

    def start_canary(
        self, target: ServiceTarget, deployment_id: str, task_definition: TaskDefinition, count: int
    ) -> list[TaskHealth]:
        self.canary_versions[target.key] = task_definition.version
        return ecs_canary.start(self, target, deployment_id, task_definition, count)

    def canary_tasks(self, target: ServiceTarget, deployment_id: str) -> list[TaskHealth]:
        return ecs_canary.tasks(self, target, deployment_id)

    def remove_canary(self, target: ServiceTarget, deployment_id: str) -> None:
        ecs_canary.remove(self, target, deployment_id)

    def list_canaries(self, target: ServiceTarget) -> list[CanaryInfo]:
        return ecs_canary.list_all(self, target)

    def canary_version(self, target: ServiceTarget) -> str | None:
        """The version the service's canary runs (for telling its metrics apart), None when it has none."""
        if target.key not in self.canary_versions:
            canaries = self.list_canaries(target)
            self.canary_versions[target.key] = canaries[0].version if canaries else None
        return self.canary_versions[target.key]

    def start_rollout(self, target: ServiceTarget, task_definition: TaskDefinition) -> None:
        wanted = task_definition.arn or task_definition.ref
        with aws_call("ecs:UpdateService", f"ECS service {target.name} in cluster {target.cluster}"):
            svc = self.ecs.update_service(cluster=target.cluster, service=target.name, taskDefinition=wanted)[
                "service"
            ]
        wanted = svc.get("taskDefinition", wanted)
        mine = next(
            (
                d["id"]
                for d in svc.get("deployments", [])
                if d.get("taskDefinition") == wanted and d.get("status") == "PRIMARY"
            ),
            None,
        )
        self._rollouts[(target.cluster, target.name)] = (wanted, mine)

    def roll_back(self, target: ServiceTarget, revision: int) -> None:
        self.start_rollout(target, self.task_definition(target, revision))

    def rollout_status(self, target: ServiceTarget) -> RolloutStatus:
        svc = self.service(target.cluster, target.name)
        assert svc is not None
        wanted, deployment_id = self._rollouts.get(
            (target.cluster, target.name), (svc["taskDefinition"], None)
        )
        deployments = svc.get("deployments", [])
        mine = next((d for d in deployments if deployment_id and d.get("id") == deployment_id), None) or next(
            (d for d in deployments if d.get("taskDefinition") == wanted and d.get("status") == "PRIMARY"),
            None,
        )
        desired = int(svc.get("desiredCount", 0))
        if mine is None and svc["taskDefinition"] != wanted:
            back_to = self.model(target, svc["taskDefinition"]).ref
            return RolloutStatus(
                state="FAILED",
                desired=desired,
                new_running=0,
                old_running=int(svc.get("runningCount", 0)),
                reason=f"ECS rolled the service back to {back_to} (deployment circuit breaker)",
            )
        if mine is None or "rolloutState" not in mine:
            # No deployment reports on this revision (moto; the EXTERNAL controller): count tasks instead.
            running = [
                t for t in self.raw_tasks(target.cluster, target.name) if t.get("lastStatus") == "RUNNING"
            ]
            new = sum(1 for t in running if t.get("taskDefinitionArn") == wanted)
            done = new >= desired and new == len(running)
            return RolloutStatus(
                state="COMPLETED" if done else "IN_PROGRESS",
                desired=desired,
                new_running=new,
                old_running=len(running) - new,
            )
        old = sum(int(d.get("runningCount", 0)) for d in deployments if d is not mine)
        state = mine["rolloutState"]
        failed = int(mine.get("failedTasks", 0))
        reason = mine.get("rolloutStateReason") or (f"{failed} task(s) failed to start" if failed else None)
        return RolloutStatus(
            state=state,
            desired=desired,
            new_running=int(mine.get("runningCount", 0)),
            old_running=old,
            reason=reason,
        )
