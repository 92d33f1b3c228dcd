"""checkout-api as a team runs it on ECS, for the whole-deploy tests of ECS shapes (`test_ecs_shapes.py`):

- EC2 container instances, tasks in bridge network mode with dynamic host ports, behind a Network Load
  Balancer whose target group registers instance id + port;
- a log-router sidecar listed before the app container; the app image pinned by digest only
  (`repo@sha256:…`), the sidecar's by tag and digest (`repo:tag@sha256:…`);
- secrets from Secrets Manager with a JSON-key suffix (`…:secret:prod/checkout/db-AbCdEf:password::`) and
  from SSM; a container health check with a start period;
- Service Connect, a managed EBS volume, `propagateTags` and `enableECSManagedTags` on the service.

moto lacks parts of this; `backend_rewrites` answers for it in the backend's own clients (see STAND_INS.md):
DescribeTasks gets the containers' `networkBindings`; DescribeTargetHealth lists each (instance, port) target
(moto keeps one target per instance id); DescribeServices gets the Service Connect configuration, the volume
configuration, `enableECSManagedTags` and the health-check grace period that moto drops. CreateService
requests are recorded (`created`), since moto ignores what it does not model.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import boto3

from tests.tools.aws.world import ACCOUNT, CLUSTER, REGION, REPO_HOST, SERVICE, World

SIDECAR = "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0@sha256:" + "ab" * 32
NAMESPACE_ARN = f"arn:aws:servicediscovery:{REGION}:{ACCOUNT}:namespace/ns-shop"
GRACE_SECONDS = 60
START_PERIOD_SECONDS = 90
SERVICE_CONNECT = {
    "enabled": True,
    "namespace": NAMESPACE_ARN,
    "services": [{"portName": "http", "discoveryName": "checkout-api",
                  "clientAliases": [{"port": 80, "dnsName": "checkout-api.shop"}]}],
    "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/service-connect"}},
}
VOLUMES = [{"name": "scratch", "managedEBSVolume": {"roleArn": f"arn:aws:iam::{ACCOUNT}:role/ebs", "sizeInGiB": 20,
                                                     "volumeType": "gp3", "filesystemType": "ext4"}}]


class ShopWorld(World):
    def build(self, stable: str = "1.2.2", versions: tuple[str, ...] = ("1.2.2", "1.2.3")) -> ShopWorld:
        ec2 = self.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        self.subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        self.network = {}
        self.ecs.create_cluster(clusterName=CLUSTER)
        instance = boto3.resource("ec2", **self.kw).create_instances(
            ImageId="ami-12345678", MinCount=1, MaxCount=1, InstanceType="m5.large", SubnetId=self.subnet
        )[0]
        from moto.ec2.utils import generate_instance_identity_document

        self.instance_id = instance.id
        self.ecs.register_container_instance(
            cluster=CLUSTER, instanceIdentityDocument=json.dumps(generate_instance_identity_document(instance))
        )
        self.lb_arn = self.elbv2.create_load_balancer(Name="shop", Subnets=[self.subnet], Type="network")[
            "LoadBalancers"][0]["LoadBalancerArn"]
        self.tg_arn = self.elbv2.create_target_group(
            Name="checkout", Protocol="TCP", Port=8080, VpcId=vpc, TargetType="instance", HealthCheckProtocol="HTTP",
            HealthCheckPath="/health", HealthCheckIntervalSeconds=10, HealthyThresholdCount=3,
        )["TargetGroups"][0]["TargetGroupArn"]
        self.canary_tg_arn = self.tg_arn
        self.listener_arn = self.elbv2.create_listener(
            LoadBalancerArn=self.lb_arn, Protocol="TCP", Port=80,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": self.tg_arn}],
        )["Listeners"][0]["ListenerArn"]

        ecr = self.client("ecr")
        ecr.create_repository(repositoryName=SERVICE)
        self.digests: dict[str, str] = {}
        for tag in versions:
            manifest = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                        "config": {"digest": f"sha256:{tag}"}, "layers": [{"digest": f"sha256:{tag}-layer"}]}
            pushed = ecr.put_image(repositoryName=SERVICE, imageManifest=json.dumps(manifest), imageTag=tag)
            self.digests[tag] = pushed["image"]["imageId"]["imageDigest"]
        sm = self.client("secretsmanager")
        self.secret_arn = sm.create_secret(Name="prod/checkout/db", SecretString='{"password": "s3cret"}')["ARN"]
        self.client("ssm").put_parameter(Name="/prod/checkout/api-key", Value="k3y", Type="SecureString")

        self.td_arn = self.ecs.register_task_definition(
            family=SERVICE,
            networkMode="bridge",
            requiresCompatibilities=["EC2"],
            executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/exec",
            taskRoleArn=f"arn:aws:iam::{ACCOUNT}:role/checkout-api-task",
            containerDefinitions=[
                {"name": "log-router", "image": SIDECAR, "memory": 32, "essential": True,
                 "firelensConfiguration": {"type": "fluentbit"}},
                {
                    "name": "app",
                    "image": f"{REPO_HOST}/{SERVICE}@{self.digests[stable]}",
                    "memory": 32,
                    "essential": True,
                    "portMappings": [{"containerPort": 8080, "name": "http"}],  # no hostPort: dynamic
                    "environment": [{"name": "LOG_LEVEL", "value": "info"}],
                    "secrets": [
                        {"name": "DATABASE_URL", "valueFrom": f"{self.secret_arn}:password::"},
                        {"name": "API_KEY", "valueFrom": "/prod/checkout/api-key"},
                    ],
                    "healthCheck": {"command": ["CMD-SHELL", "curl -f localhost:8080/health"], "interval": 15,
                                    "startPeriod": START_PERIOD_SECONDS},
                },
            ],
            tags=[{"key": "team", "value": "payments"}],
        )["taskDefinition"]["taskDefinitionArn"]
        self.ecs.create_service(
            cluster=CLUSTER, serviceName=SERVICE, taskDefinition=self.td_arn, desiredCount=4, launchType="EC2",
            loadBalancers=[{"targetGroupArn": self.tg_arn, "containerName": "app", "containerPort": 8080}],
            propagateTags="SERVICE", tags=[{"key": "team", "value": "payments"}],
        )
        self.host_ports: dict[str, int] = {}  # task ARN -> the host port its app container got
        self.port_groups: dict[int, str] = {}  # host port -> the task group ("service:<name>") using it
        self.instance_targets: dict[str, set[tuple[str, int]]] = {}  # target group -> registered targets
        self.target_states: Callable[[str, int], str] = lambda _id, _port: "healthy"
        self.created: list[dict[str, Any]] = []  # CreateService requests, as runbook sent them
        self.reconcile()
        return self

    # --- the stand-in scheduler on EC2 -------------------------------------------------------------

    def run_tasks(self, svc: dict[str, Any], group: str, count: int) -> list[dict[str, Any]]:
        started = list(self.ecs.run_task(cluster=CLUSTER, taskDefinition=svc["taskDefinition"], count=count,
                                         group=group, launchType="EC2", startedBy="ecs-svc/standin")["tasks"])
        for task in started:
            self.host_ports[task["taskArn"]] = port = 32768 + len(self.host_ports)
            self.port_groups[port] = group
        return started

    def targets_of(self, task: dict[str, Any]) -> list[dict[str, Any]]:
        port = self.host_ports.get(task["taskArn"])
        return [{"Id": self.instance_id, "Port": port}] if port else []

    def register(self, group_arn: str, targets: list[dict[str, Any]]) -> None:
        self.instance_targets.setdefault(group_arn, set()).update((t["Id"], t["Port"]) for t in targets)

    def deregister(self, group_arn: str, targets: list[dict[str, Any]]) -> None:
        self.instance_targets.setdefault(group_arn, set()).difference_update((t["Id"], t["Port"]) for t in targets)

    # --- what the backend's clients see instead of moto's answers ------------------------------------

    def backend_rewrites(self, service: str, client: Any) -> None:
        from tests.tools.aws.faults import rewrite

        if service == "ecs":
            rewrite(client, "ecs.DescribeTasks", self._bindings)
            rewrite(client, "ecs.DescribeServices", self._service_settings)
            client.meta.events.register(
                "provide-client-params.ecs.CreateService", lambda params, **_: self.created.append(dict(params))
            )
        if service == "elbv2":
            rewrite(client, "elastic-load-balancing-v2.DescribeTargetHealth", self._target_health)

    def _bindings(self, parsed: dict[str, Any]) -> None:
        for task in parsed.get("tasks", []):
            port = self.host_ports.get(task["taskArn"])
            if port:
                app = {"name": "app", "lastStatus": task.get("lastStatus"),
                       "networkBindings": [{"bindIP": "0.0.0.0", "containerPort": 8080, "hostPort": port,
                                            "protocol": "tcp"}]}
                task["containers"] = [c for c in task.get("containers", []) if c.get("name") != "app"] + [app]

    def _service_settings(self, parsed: dict[str, Any]) -> None:
        for svc in parsed.get("services", []):
            if svc.get("serviceName") != SERVICE:
                continue
            svc["enableECSManagedTags"] = True
            svc["healthCheckGracePeriodSeconds"] = GRACE_SECONDS
            for deployment in svc.get("deployments", []):
                if deployment.get("status") == "PRIMARY":
                    deployment["serviceConnectConfiguration"] = json.loads(json.dumps(SERVICE_CONNECT))
                    deployment["volumeConfigurations"] = json.loads(json.dumps(VOLUMES))

    def _target_health(self, parsed: dict[str, Any]) -> None:
        # One target group in this world (the stable service and its canary share it).
        parsed["TargetHealthDescriptions"] = [
            {"Target": {"Id": ident, "Port": port}, "TargetHealth": {"State": self.target_states(ident, port)}}
            for ident, port in sorted(self.instance_targets.get(self.tg_arn, set()))
        ]
