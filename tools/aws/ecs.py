"""ECS: describe a service, read and register task definitions, roll out, roll back.

The canary (a separate `<service>-canary-<short deployment id>` service) lives in `ecs_canary.py`.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tools.aws import ecs_canary, ecs_tasks
from tools.aws.ecr import split_repository
from tools.aws.ecs_taskdefs import (
    copy_with_image,
    digest_of,
    pick_container,
    repository_of,
    to_model,
    version_of,
)
from tools.aws.elbv2 import LoadBalancers
from tools.aws.errors import aws_call, error_code
from tools.aws.session import AwsSession
from tools.backend import BackendError, NotFound
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
from tools.task_definitions import registrable


class EcsPlatform:
    label = "ECS"

    def __init__(self, session: AwsSession, load_balancers: LoadBalancers) -> None:
        self.session = session
        self.lbs = load_balancers
        self._task_definitions: dict[
            str, tuple[dict[str, Any], list[dict[str, str]]]
        ] = {}  # immutable: cached
        # service -> (revision ARN, its deployment id, the ids of the deployments there were before it)
        self._rollouts: dict[tuple[str, str], tuple[str, str | None, frozenset[str]]] = {}
        self._stable_groups: dict[str, list[str]] = {}
        self._instances: dict[str, str] = {}  # container instance ARN -> EC2 instance id (never changes)
        self._families: dict[str, str] = {}  # service -> its task definition family, as last read
        self._task_arns: dict[tuple[str, str], list[str]] = {}  # (cluster, service) -> the tasks listed last
        self.canary_counts: dict[str, int] = {}  # deployment -> the task count its canary was started with
        self._digest_tags: dict[str, str] = {}  # image digest -> its ECR tag, for images pinned by digest only
        self.canary_versions: dict[str, str | None] = {}
        self.canary_grace: dict[str, int] = {}  # service -> the grace period its canary copied
        self.shifted: set[str] = set()  # deployments whose weighted canary gets its share of the traffic

    @property
    def ecs(self) -> Any:
        return self.session.client("ecs")

    # --- reading -------------------------------------------------------------------------------

    def services(self, cluster: str, names: list[str]) -> list[dict[str, Any] | None]:
        """Several services of a cluster in one DescribeServices (None for one that does not exist)."""
        with aws_call("ecs:DescribeServices", f"ECS services {', '.join(names)} in cluster {cluster}"):
            found = self.ecs.describe_services(cluster=cluster, services=names)["services"]
        live = {s["serviceName"]: dict(s) for s in found if s.get("status") != "INACTIVE"}
        return [live.get(name) for name in names]

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
            raw = entry[0]
            for key in (ref, raw["taskDefinitionArn"], f"{raw['family']}:{raw['revision']}"):
                self._task_definitions[key] = entry
        return self._task_definitions[ref]

    def model(self, target: ServiceTarget, ref: str) -> TaskDefinition:
        raw = self.raw_task_definition(ref)[0]
        image = str(pick_container(raw, target.config.container).get("image", ""))
        digest = digest_of(image)
        if digest and version_of(image).startswith("sha256:") and digest not in self._digest_tags:
            self._digest_tags[digest] = self._tag_of(image, digest)
        return to_model(raw, target.config.container, self._digest_tags)

    def _tag_of(self, image: str, digest: str) -> str:
        """The tag ECR lists for an image the task definition pins by digest only ('repo@sha256:…'), so the
        running version reads as a version; '' when the registry is not ECR or lists no tag."""
        registry_id, _host, name = split_repository(repository_of(image))
        if registry_id is None:
            return ""
        kwargs: dict[str, Any] = {"repositoryName": name, "imageIds": [{"imageDigest": digest}], "registryId": registry_id}
        try:
            with aws_call("ecr:DescribeImages", f"ECR repository {name}"):
                details = self.session.client("ecr").describe_images(**kwargs)["imageDetails"]
        except BackendError as exc:
            cause = exc.__cause__
            if isinstance(exc, NotFound) or (isinstance(cause, ClientError) and error_code(cause) == "ImageNotFoundException"):
                return ""
            raise
        tags = [t for d in details for t in d.get("imageTags", []) if t != "latest"]
        return sorted(tags)[-1] if tags else ""

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

    def raw_tasks(self, cluster: str, name: str, expected: int | None = None) -> list[dict[str, Any]]:
        """The service's tasks. With `expected` (how many should run), the tasks listed last time are described
        again without listing (one call instead of two) while exactly that many of them still run."""
        where = f"tasks of ECS service {name} in cluster {cluster}"
        known = self._task_arns.get((cluster, name))
        if expected is not None and known and len(known) == expected:
            tasks = self._describe_tasks(cluster, name, known)
            if len(tasks) == expected and all(t.get("lastStatus") == "RUNNING" for t in tasks):
                return tasks
        arns: list[str] = []
        with aws_call("ecs:ListTasks", where):
            for page in self.ecs.get_paginator("list_tasks").paginate(cluster=cluster, serviceName=name):
                arns.extend(page.get("taskArns", []))
        tasks = self._describe_tasks(cluster, name, arns)
        self._task_arns[(cluster, name)] = [t["taskArn"] for t in tasks if t.get("lastStatus") != "STOPPED"]
        return tasks

    def _describe_tasks(self, cluster: str, name: str, arns: list[str]) -> list[dict[str, Any]]:
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
        return ecs_tasks.task_health(self, target, tasks, groups)

    def describe_service(self, target: ServiceTarget) -> ServiceStatus:
        svc = self.service(target.cluster, target.name)
        assert svc is not None
        current = self.model(target, svc["taskDefinition"])
        self._families[target.key] = current.family
        deployments = svc.get("deployments", [])
        primary = next((d for d in deployments if d.get("status") == "PRIMARY"), None)
        tasks = self.task_health(
            target,
            self.raw_tasks(target.cluster, target.name, int(svc.get("desiredCount", 0)) if len(deployments) <= 1 else None),
            self.stable_target_groups(target, svc),
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
            deployment_controller=(svc.get("deploymentController") or {}).get("type", "ECS"),
            health_check_grace_seconds=int(svc.get("healthCheckGracePeriodSeconds") or 0),
        )

    def current_task_definition(self, target: ServiceTarget) -> TaskDefinition:
        svc = self.service(target.cluster, target.name)
        assert svc is not None
        current = self.model(target, svc["taskDefinition"])
        self._families[target.key] = current.family
        return current

    def task_definition(self, target: ServiceTarget, revision: int) -> TaskDefinition:
        family = self._families.get(target.key) or self.current_task_definition(target).family
        return self.model(target, f"{family}:{revision}")

    def load_balancer_health_check(self, target: ServiceTarget) -> HealthCheckInfo | None:
        groups = self.stable_target_groups(target)
        return self.lbs.health_check(groups[0]) if groups else None

    def canary_warmup_seconds(self, target: ServiceTarget, task_definition: TaskDefinition) -> float:
        """The longest of: the service's healthCheckGracePeriodSeconds (the canary copies it), the container
        health checks' startPeriod, and the canary target group's healthy threshold × interval (a new target
        is `initial` until it has passed that many checks)."""
        grace = self.canary_grace.get(target.key)
        if grace is None:
            stable = self.service(target.cluster, target.name)
            grace = int((stable or {}).get("healthCheckGracePeriodSeconds") or 0)
        raw = self.raw_task_definition(task_definition.arn or task_definition.ref)[0]
        start_period = max((int((c.get("healthCheck") or {}).get("startPeriod") or 0)
                            for c in raw.get("containerDefinitions", [])), default=0)
        groups = ([target.config.ecs.canary_target_group_arn] if target.config.ecs.canary_target_group_arn
                  else self.stable_target_groups(target))
        checks = [self.lbs.health_check(arn) for arn in groups]
        passing = max((c.healthy_threshold * c.interval_seconds for c in checks), default=0)
        return float(max(grace, start_period, passing))

    # --- changing ------------------------------------------------------------------------------

    def register_revision(self, target: ServiceTarget, base: TaskDefinition, image: Image) -> TaskDefinition:
        raw, tags = self.raw_task_definition(base.arn or base.ref)
        # Pinned by digest: a re-push of the tag after the approval cannot change what this revision runs.
        return self._register(target, copy_with_image(raw, tags, target.config.container, image.pinned))

    def _register(self, target: ServiceTarget, args: dict[str, Any]) -> TaskDefinition:
        with aws_call("ecs:RegisterTaskDefinition", f"task definition family {args.get('family')}"):
            out = self.ecs.register_task_definition(**args)
        registered = out["taskDefinition"]
        entry = (registered, list(out.get("tags", args.get("tags", []))))
        self._task_definitions[registered["taskDefinitionArn"]] = entry
        self._task_definitions[f"{registered['family']}:{registered['revision']}"] = entry
        return self.model(target, registered["taskDefinitionArn"])

    def register_definition(
        self, target: ServiceTarget, base: TaskDefinition, definition: dict[str, Any]
    ) -> TaskDefinition:
        _raw, tags = self.raw_task_definition(base.arn or base.ref)
        return self._register(target, registrable(definition, tags))

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
        before = frozenset(str(d["id"]) for d in svc.get("deployments", []) if d.get("id") and d.get("id") != mine)
        self._rollouts[(target.cluster, target.name)] = (wanted, mine, before)

    def roll_back(self, target: ServiceTarget, revision: int) -> None:
        self.start_rollout(target, self.task_definition(target, revision))

    def rollout_status(self, target: ServiceTarget) -> RolloutStatus:
        svc = self.service(target.cluster, target.name)
        assert svc is not None
        wanted, deployment_id, before = self._rollouts.get(
            (target.cluster, target.name), (svc["taskDefinition"], None, frozenset())
        )
        deployments = svc.get("deployments", [])
        mine = next((d for d in deployments if deployment_id and d.get("id") == deployment_id), None) or next(
            (d for d in deployments if d.get("taskDefinition") == wanted and d.get("status") == "PRIMARY"),
            None,
        )
        desired = int(svc.get("desiredCount", 0))
        if svc["taskDefinition"] != wanted:
            # The deployment circuit breaker put the service back on the revision that ran before: this
            # rollout failed, and the platform's own rollback is a deployment to watch until it completes.
            back_to = self.model(target, svc["taskDefinition"]).ref
            reason = f"ECS rolled the service back to {back_to} (deployment circuit breaker)"
            if mine is not None and mine.get("rolloutStateReason"):
                reason = f"{str(mine['rolloutStateReason']).rstrip('.')}; {reason}"
            # Its deployment is a new one: one that was there before this rollout (moto keeps the first
            # deployment of a service forever) says nothing about the rollback.
            back = self._progress(target, svc, svc["taskDefinition"], None, before)
            return RolloutStatus(
                state="FAILED",
                desired=desired,
                new_running=int(mine.get("runningCount", 0)) if mine else 0,
                old_running=back.new_running,
                reason=reason,
                platform_rollback=back.state,
                rolled_back_to=back_to,
            )
        return self._progress(target, svc, wanted, mine)

    def _progress(
        self, target: ServiceTarget, svc: dict[str, Any], wanted: str, mine: dict[str, Any] | None,
        ignore: frozenset[str] = frozenset(),
    ) -> RolloutStatus:
        """How far the service is in running `wanted`: from its deployment (`mine`, else the primary one on
        that revision) or, where no deployment reports a rollout state, by counting running tasks."""
        deployments = svc.get("deployments", [])
        desired = int(svc.get("desiredCount", 0))
        mine = mine or next(
            (d for d in deployments
             if d.get("taskDefinition") == wanted and d.get("status") == "PRIMARY" and d.get("id") not in ignore),
            None,
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

    def explain_failure(self, target: ServiceTarget, deployment_id: str | None = None) -> list[str]:
        name = ecs_canary.canary_name(target, deployment_id) if deployment_id else target.name
        return ecs_tasks.explain_failure(self, target.cluster, name)
