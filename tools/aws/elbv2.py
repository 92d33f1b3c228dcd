"""ELBv2: target health of tasks, health-check settings, and listener weights for weighted canaries."""

from __future__ import annotations

from typing import Any, Literal

from tools.aws.errors import aws_call
from tools.aws.session import AwsSession
from tools.models import HealthCheckInfo

Health = Literal["HEALTHY", "UNHEALTHY", "UNKNOWN"]
TARGET_STATES: dict[str, Health] = {
    "healthy": "HEALTHY",
    "unhealthy": "UNHEALTHY",
    "draining": "UNHEALTHY",
    "unavailable": "UNHEALTHY",
    "initial": "UNKNOWN",
    "unused": "UNKNOWN",
    "unhealthy.draining": "UNHEALTHY",
}


class LoadBalancers:
    def __init__(self, session: AwsSession) -> None:
        self.session = session
        self._groups: dict[str, dict[str, Any]] = {}  # target group descriptions, read once per command

    @property
    def client(self) -> Any:
        return self.session.client("elbv2")

    def target_health(self, target_group_arns: list[str]) -> dict[tuple[str, int | None], Health]:
        """(target id, port) -> health over all the given target groups: a task's IP (awsvpc), or the
        instance id and host port of an EC2 task in bridge or host mode, where one instance serves many tasks."""
        health: dict[tuple[str, int | None], Health] = {}
        for arn in target_group_arns:
            with aws_call("elasticloadbalancing:DescribeTargetHealth", f"target group {arn}"):
                descriptions = self.client.describe_target_health(TargetGroupArn=arn)[
                    "TargetHealthDescriptions"
                ]
            for item in descriptions:
                state = TARGET_STATES.get(item.get("TargetHealth", {}).get("State", ""), "UNKNOWN")
                port = item["Target"].get("Port")
                key = (str(item["Target"]["Id"]), int(port) if port is not None else None)
                if health.get(key) != "UNHEALTHY":  # unhealthy in any group wins
                    health[key] = state
        return health

    def target_group(self, target_group_arn: str) -> dict[str, Any]:
        if target_group_arn not in self._groups:
            with aws_call("elasticloadbalancing:DescribeTargetGroups", f"target group {target_group_arn}"):
                found = self.client.describe_target_groups(TargetGroupArns=[target_group_arn])["TargetGroups"]
            self._groups[target_group_arn] = dict(found[0])
        return self._groups[target_group_arn]

    def health_check(self, target_group_arn: str) -> HealthCheckInfo:
        group = self.target_group(target_group_arn)
        return HealthCheckInfo(
            path=group.get("HealthCheckPath"),
            protocol=group.get("HealthCheckProtocol", "HTTP"),
            interval_seconds=int(group.get("HealthCheckIntervalSeconds", 30)),
            healthy_threshold=int(group.get("HealthyThresholdCount", 5)),
        )

    def load_balancer_dimension(self, target_group_arn: str) -> str | None:
        """'app/name/id', the LoadBalancer dimension of ALB metrics, for the target group's first ALB."""
        arns = self.target_group(target_group_arn).get("LoadBalancerArns") or []
        return arns[0].split(":loadbalancer/", 1)[1] if arns else None

    def is_network(self, target_group_arn: str) -> bool:
        """Whether the target group serves a Network Load Balancer (TCP/UDP/TLS: no HTTP requests to count)."""
        group = self.target_group(target_group_arn)
        arns = group.get("LoadBalancerArns") or []
        return any(":loadbalancer/net/" in arn for arn in arns) or group.get("Protocol") in ("TCP", "UDP", "TLS", "TCP_UDP")

    def set_weights(self, listener_arn: str | None, rule_arn: str | None, weights: dict[str, int]) -> None:
        """Point the listener's (or rule's) forward action at `weights` (target group ARN -> weight)."""
        groups = [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in weights.items()]
        if rule_arn:
            with aws_call("elasticloadbalancing:DescribeRules", f"listener rule {rule_arn}"):
                actions = self.client.describe_rules(RuleArns=[rule_arn])["Rules"][0]["Actions"]
            with aws_call("elasticloadbalancing:ModifyRule", f"listener rule {rule_arn}"):
                self.client.modify_rule(RuleArn=rule_arn, Actions=_reweigh(actions, groups))
        elif listener_arn:
            with aws_call("elasticloadbalancing:DescribeListeners", f"listener {listener_arn}"):
                actions = self.client.describe_listeners(ListenerArns=[listener_arn])["Listeners"][0][
                    "DefaultActions"
                ]
            with aws_call("elasticloadbalancing:ModifyListener", f"listener {listener_arn}"):
                self.client.modify_listener(
                    ListenerArn=listener_arn, DefaultActions=_reweigh(actions, groups)
                )


def _reweigh(actions: list[dict[str, Any]], groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The same actions with the forward action's target groups replaced (stickiness kept)."""
    out = []
    for action in actions:
        if action.get("Type") == "forward":
            forward = dict(action.get("ForwardConfig") or {})
            forward["TargetGroups"] = groups
            action = {k: v for k, v in action.items() if k != "TargetGroupArn"} | {"ForwardConfig": forward}
        out.append(action)
    return out
