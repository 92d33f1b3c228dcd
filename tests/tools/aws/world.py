"""A small AWS account for tests: VPC, ALB, ECS service, ECR images, secrets, logs, alarms, metrics.

`reconcile` plays the ECS scheduler, which moto does not: it keeps each service's tasks (group
`service:<name>`) at the desired count on the service's revision and registers their IPs on the
service's target groups. See STAND_INS.md.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

REGION = "us-east-1"
CLUSTER = "prod"
SERVICE = "checkout-api"
ACCOUNT = "123456789012"
REPO_HOST = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
NAMESPACE = "Shop"
DESIRED = 4


class World:
    def __init__(self, **client_kwargs: Any) -> None:
        self.kw = dict(region_name=REGION, **client_kwargs)
        self.ecs = self.client("ecs")
        self.elbv2 = self.client("elbv2")
        self.cloudwatch = self.client("cloudwatch")
        self.failing: dict[tuple[str, str], int] = {}  # (service, revision ARN) -> task starts left to fail
        self.rolled_back: list[str] = []  # services the stand-in circuit breaker put back
        self.holding: dict[str, int] = {}  # service -> scheduler passes it waits before the next change
        self.rollback_passes = 0
        self.unpullable: dict[str, str] = {}  # revision ARN -> why its tasks stop as soon as they start

    def client(self, name: str) -> Any:
        return boto3.client(name, **self.kw)

    def build(
        self, stable: str = "1.2.2", versions: tuple[str, ...] = ("1.2.2", "1.2.3"), controller: str = "ECS",
        desired: int = DESIRED,
    ) -> World:
        ec2 = self.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        self.subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        sg = ec2.create_security_group(GroupName="app", Description="app", VpcId=vpc)["GroupId"]
        lb = self.elbv2.create_load_balancer(Name="shop", Subnets=[self.subnet], SecurityGroups=[sg])
        self.lb_arn = lb["LoadBalancers"][0]["LoadBalancerArn"]
        self.tg_arn = self.target_group("checkout", vpc)
        self.canary_tg_arn = self.target_group("checkout-canary", vpc)
        self.listener_arn = self.elbv2.create_listener(
            LoadBalancerArn=self.lb_arn,
            Protocol="HTTP",
            Port=80,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": self.tg_arn}],
        )["Listeners"][0]["ListenerArn"]
        self.network = {"awsvpcConfiguration": {"subnets": [self.subnet], "securityGroups": [sg]}}

        ecr = self.client("ecr")
        ecr.create_repository(repositoryName=SERVICE)
        for tag in versions:
            manifest = {
                "schemaVersion": 2,
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "config": {"digest": f"sha256:{tag}"},
                "layers": [],
            }
            ecr.put_image(repositoryName=SERVICE, imageManifest=json.dumps(manifest), imageTag=tag)
        sm = self.client("secretsmanager")
        self.secret_arn = sm.create_secret(Name="prod/checkout/db", SecretString="s3cret")["ARN"]
        self.client("ssm").put_parameter(Name="/prod/checkout/api-key", Value="k3y", Type="SecureString")

        self.ecs.create_cluster(clusterName=CLUSTER)
        self.td_arn = self.ecs.register_task_definition(
            family=SERVICE,
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="512",
            memory="1024",
            executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/exec",
            containerDefinitions=[
                {
                    "name": "app",
                    "image": f"{REPO_HOST}/{SERVICE}:{stable}",
                    "memory": 1024,
                    "essential": True,
                    "portMappings": [{"containerPort": 8080}],
                    "environment": [
                        {"name": "LOG_LEVEL", "value": "info"},
                        {"name": "PAYMENTS_API_URL", "value": "x"},
                    ],
                    "secrets": [
                        {"name": "DATABASE_URL", "valueFrom": self.secret_arn},
                        {"name": "API_KEY", "valueFrom": "/prod/checkout/api-key"},
                    ],
                    "healthCheck": {
                        "command": ["CMD-SHELL", "curl -f localhost:8080/health"],
                        "interval": 15,
                    },
                }
            ],
            tags=[{"key": "team", "value": "payments"}],
        )["taskDefinition"]["taskDefinitionArn"]
        self.ecs.create_service(
            cluster=CLUSTER,
            serviceName=SERVICE,
            taskDefinition=self.td_arn,
            desiredCount=desired,
            launchType="FARGATE",
            networkConfiguration=self.network,
            loadBalancers=[{"targetGroupArn": self.tg_arn, "containerName": "app", "containerPort": 8080}],
            deploymentController={"type": controller},
        )
        self.reconcile()

        logs = self.client("logs")
        logs.create_log_group(logGroupName=f"/ecs/{SERVICE}")
        logs.create_log_stream(logGroupName=f"/ecs/{SERVICE}", logStreamName="app/app/abc123")
        now = int(datetime.now(UTC).timestamp() * 1000)
        logs.put_log_events(
            logGroupName=f"/ecs/{SERVICE}",
            logStreamName="app/app/abc123",
            logEvents=[
                {"timestamp": now - 60_000, "message": "INFO request ok"},
                {"timestamp": now - 30_000, "message": "ERROR payment timeout"},
            ],
        )
        self.cloudwatch.put_metric_alarm(
            AlarmName=f"{SERVICE}-5xx",
            MetricName="Errors5xx",
            Namespace=NAMESPACE,
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=10,
            ComparisonOperator="GreaterThanThreshold",
        )
        return self

    def target_group(self, name: str, vpc: str) -> str:
        return self.elbv2.create_target_group(
            Name=name,
            Protocol="HTTP",
            Port=8080,
            VpcId=vpc,
            TargetType="ip",
            HealthCheckPath="/health",
            HealthCheckIntervalSeconds=15,
        )["TargetGroups"][0]["TargetGroupArn"]

    def publish(
        self,
        version: str,
        start: datetime,
        minutes: int,
        requests: float = 100,
        errors: float = 0,
        latency_ms: float = 120,
        step: int = 10,
    ) -> None:
        """Custom metrics of one version, a point every `step` seconds."""
        stamps = [start + timedelta(seconds=i * step) for i in range(minutes * 60 // step)]
        self.publish_at(version, stamps, requests, errors, latency_ms)

    def publish_at(self, version: str, stamps: list[datetime], requests: float = 100, errors: float = 0,
                   latency_ms: float = 120) -> None:
        """Custom metrics of one version, a point at each of `stamps`."""
        datums = []
        dims = [{"Name": "Service", "Value": SERVICE}, {"Name": "Version", "Value": version}]
        for stamp in stamps:
            for name, value in (("RequestCount", requests), ("Errors5xx", errors), ("Latency", latency_ms)):
                datums.append(
                    {
                        "MetricName": name,
                        "Dimensions": dims,
                        "Timestamp": stamp,
                        "Value": value,
                        "StorageResolution": 1,
                    }
                )
        for i in range(0, len(datums), 900):
            self.cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=datums[i : i + 900])

    def canaries(self, active: bool = True) -> list[dict[str, Any]]:
        """The canary services of checkout-api (`checkout-api-canary-<id>`), with their tags; ACTIVE ones only
        unless `active` is False."""
        arns = self.ecs.list_services(cluster=CLUSTER)["serviceArns"]
        names = [a.rsplit("/", 1)[-1] for a in arns if a.rsplit("/", 1)[-1].startswith(f"{SERVICE}-canary")]
        found = []
        for start in range(0, len(names), 10):
            found += self.ecs.describe_services(cluster=CLUSTER, services=names[start : start + 10],
                                                include=["TAGS"])["services"]
        return [s for s in found if s["status"] == "ACTIVE" or not active]

    def revision(self, number: int) -> str:
        return f"{self.td_arn.rsplit(':', 1)[0]}:{number}"

    def break_revision(self, service: str, revision_arn: str, failures: int = 3, rollback_passes: int = 0) -> None:
        """Stand-in deployment circuit breaker (with rollback): in `service`, tasks of `revision_arn` stop as
        soon as they start; after `failures` of them the service goes back to its running tasks' revision.
        With `rollback_passes`, ECS had already stopped one old task, and its rollback deployment starts the
        replacement only that many scheduler passes later (so the rollback takes a while to complete)."""
        self.failing[(service, revision_arn)] = failures
        self.rollback_passes = rollback_passes

    def reconcile(self, batch: int | None = None) -> None:
        """One pass of the stand-in ECS scheduler over every service of the cluster. With `batch`, a pass starts
        at most that many tasks per service and stops as many old ones (a rolling update at a fixed speed)."""
        arns = self.ecs.list_services(cluster=CLUSTER)["serviceArns"]
        services = self.ecs.describe_services(cluster=CLUSTER, services=arns)["services"] if arns else []
        task_arns = self.ecs.list_tasks(cluster=CLUSTER)["taskArns"]
        tasks = self.ecs.describe_tasks(cluster=CLUSTER, tasks=task_arns)["tasks"] if task_arns else []
        for svc in services:
            if self.holding.get(svc["serviceName"], 0) > 0:
                self.holding[svc["serviceName"]] -= 1
                continue
            group = f"service:{svc['serviceName']}"
            groups = [lb["targetGroupArn"] for lb in svc.get("loadBalancers", [])]
            mine = [t for t in tasks if t.get("group") == group and t["lastStatus"] == "RUNNING"]
            desired = svc["desiredCount"] if svc["status"] == "ACTIVE" else 0
            keep = [t for t in mine if t["taskDefinitionArn"] == svc["taskDefinition"]]
            old = [t for t in mine if t not in keep]
            # Like a rolling update with maximumPercent 200: start the new tasks, then stop the old ones.
            missing = max(0, desired - len(keep))
            if batch is not None:
                missing = min(missing, batch)
            stale = old[: max(0, len(keep[:desired]) + missing + len(old) - desired)] + keep[desired:]
            if missing and (svc["serviceName"], svc["taskDefinition"]) in self.failing:
                self._fail_tasks(svc, group, missing, old)
                continue
            if missing and svc["taskDefinition"] in self.unpullable:
                self._start_stopped(svc, group, missing, self.unpullable[svc["taskDefinition"]])
                continue
            if missing:
                started = self.run_tasks(svc, group, missing)
                targets = [t for task in started for t in self.targets_of(task)]
                for group_arn in groups:
                    if targets:
                        self.register(group_arn, targets)
            for task in stale:
                self.ecs.stop_task(cluster=CLUSTER, task=task["taskArn"], reason="replaced")
                for group_arn in groups:
                    if self.targets_of(task):
                        self.deregister(group_arn, self.targets_of(task))

    # The ways tasks start and join target groups; ShopWorld runs them on EC2 instances instead.
    def _start_stopped(self, svc: dict[str, Any], group: str, count: int, why: str) -> None:
        """Tasks that stop as they start (an image that cannot be pulled). Stand-in: done in moto's backend
        (its server runs in this process) in one go, so that a deploy polling meanwhile does not catch them
        RUNNING for the length of an HTTP round trip, as RunTask then StopTask through the API let it."""
        from moto.ecs.models import ecs_backends

        backend = ecs_backends[ACCOUNT][REGION]
        for task in backend.run_task(CLUSTER, svc["taskDefinition"], count, None, "ecs-svc/standin", None, "FARGATE",
                                     self.network, group=group):
            backend.stop_task(CLUSTER, task.task_arn, why)

    def run_tasks(self, svc: dict[str, Any], group: str, count: int) -> list[dict[str, Any]]:
        return list(self.ecs.run_task(
            cluster=CLUSTER,
            taskDefinition=svc["taskDefinition"],
            count=count,
            group=group,
            launchType="FARGATE",
            networkConfiguration=self.network,
            startedBy="ecs-svc/standin",
        )["tasks"])

    def targets_of(self, task: dict[str, Any]) -> list[dict[str, Any]]:
        ip = _ip(task)
        return [{"Id": ip}] if ip else []

    def register(self, group_arn: str, targets: list[dict[str, Any]]) -> None:
        self.elbv2.register_targets(TargetGroupArn=group_arn, Targets=targets)

    def deregister(self, group_arn: str, targets: list[dict[str, Any]]) -> None:
        self.elbv2.deregister_targets(TargetGroupArn=group_arn, Targets=targets)

    def _fail_tasks(self, svc: dict[str, Any], group: str, count: int, old: list[dict[str, Any]]) -> None:
        """Tasks that exit at once; old tasks keep serving. Then the circuit breaker trips and rolls back."""
        key = (svc["serviceName"], svc["taskDefinition"])
        started = self.run_tasks(svc, group, count)
        for task in started:
            self.ecs.stop_task(cluster=CLUSTER, task=task["taskArn"], reason="Essential container exited")
        self.failing[key] -= len(started)
        if self.failing[key] <= 0 and old:
            del self.failing[key]
            if self.rollback_passes:
                self.ecs.stop_task(cluster=CLUSTER, task=old[-1]["taskArn"], reason="replaced")
                groups = [lb["targetGroupArn"] for lb in svc.get("loadBalancers", [])]
                for group_arn in groups:
                    if self.targets_of(old[-1]):
                        self.deregister(group_arn, self.targets_of(old[-1]))
                self.holding[svc["serviceName"]] = self.rollback_passes
            self.ecs.update_service(
                cluster=CLUSTER, service=svc["serviceName"], taskDefinition=old[0]["taskDefinitionArn"]
            )
            self.rolled_back.append(svc["serviceName"])


def _ip(task: dict[str, Any]) -> str | None:
    for attachment in task.get("attachments", []):
        for detail in attachment.get("details", []):
            if detail["name"] == "privateIPv4Address":
                return str(detail["value"])
    return None


def freeze_tasks() -> None:
    """moto advances a task one state per describe call; keep tasks where they are (RUNNING)."""
    from moto.moto_api import state_manager

    state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": 10**9})
