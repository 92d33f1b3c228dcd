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

    @property
    def client(self) -> Any:
        return self.session.client("elbv2")

    def target_health(self, target_group_arns: list[str]) -> dict[str, Health]:
        """Target id (a task's IP, or instance id) -> health, over all the given target groups."""
        health: dict[str, Health] = {}
        for arn in target_group_arns:
            with aws_call("elasticloadbalancing:DescribeTargetHealth", f"target group {arn}"):
                descriptions = self.client.describe_target_health(TargetGroupArn=arn)[
                    "TargetHealthDescriptions"
                ]
            for item in descriptions:
                state = TARGET_STATES.get(item.get("TargetHealth", {}).get("State", ""), "UNKNOWN")
                ident = item["Target"]["Id"]
                if health.get(ident) != "UNHEALTHY":  # unhealthy in any group wins
                    health[ident] = state
        return health

    def health_check(self, target_group_arn: str) -> HealthCheckInfo:
        with aws_call("elasticloadbalancing:DescribeTargetGroups", f"target group {target_group_arn}"):
            group = self.client.describe_target_groups(TargetGroupArns=[target_group_arn])["TargetGroups"][0]
        return HealthCheckInfo(
            path=group.get("HealthCheckPath"),
            protocol=group.get("HealthCheckProtocol", "HTTP"),
            interval_seconds=int(group.get("HealthCheckIntervalSeconds", 30)),
        )

    def load_balancer_dimension(self, target_group_arn: str) -> str | None:
        """'app/name/id', the LoadBalancer dimension of ALB metrics, for the target group's first ALB."""
        with aws_call("elasticloadbalancing:DescribeTargetGroups", f"target group {target_group_arn}"):
            group = self.client.describe_target_groups(TargetGroupArns=[target_group_arn])["TargetGroups"][0]
        arns = group.get("LoadBalancerArns") or []
        return arns[0].split(":loadbalancer/", 1)[1] if arns else None

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
