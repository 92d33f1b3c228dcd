"""CloudWatch alarms in ALARM that belong to a service: by configured names, prefix or tags."""

from __future__ import annotations

from typing import Any

from tools.aws.errors import aws_call
from tools.aws.session import AwsSession
from tools.models import Alarm, ServiceTarget

ALARM_TYPES = ["MetricAlarm", "CompositeAlarm"]


def _alarms(page: dict[str, Any]) -> list[dict[str, Any]]:
    return list(page.get("MetricAlarms", [])) + list(page.get("CompositeAlarms", []))


class AwsIncidents:
    def __init__(self, session: AwsSession) -> None:
        self.session = session

    def _describe(self, **kwargs: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        paginator = self.session.client("cloudwatch").get_paginator("describe_alarms")
        with aws_call("cloudwatch:DescribeAlarms", "CloudWatch alarms"):
            for page in paginator.paginate(StateValue="ALARM", AlarmTypes=ALARM_TYPES, **kwargs):
                # The state is checked again here: moto ignores StateValue with a name prefix.
                found.extend(a for a in _alarms(page) if a.get("StateValue") == "ALARM")
        return found

    def active_alarms(self, target: ServiceTarget) -> list[Alarm]:
        cfg = target.config.ecs
        firing: dict[str, dict[str, Any]] = {}
        if cfg.alarm_names:
            for start in range(0, len(cfg.alarm_names), 100):
                for raw in self._describe(AlarmNames=cfg.alarm_names[start : start + 100]):
                    firing[raw["AlarmName"]] = raw
        if cfg.alarm_prefix or not (cfg.alarm_names or cfg.alarm_tags):
            for raw in self._describe(AlarmNamePrefix=cfg.alarm_prefix or target.name):
                firing[raw["AlarmName"]] = raw
        if cfg.alarm_tags:
            cloudwatch = self.session.client("cloudwatch")
            for raw in self._describe():
                if raw["AlarmName"] in firing:
                    continue
                with aws_call("cloudwatch:ListTagsForResource", f"alarm {raw['AlarmName']}"):
                    tags = cloudwatch.list_tags_for_resource(ResourceARN=raw["AlarmArn"]).get("Tags", [])
                have = {t["Key"]: t["Value"] for t in tags}
                if all(have.get(k) == v for k, v in cfg.alarm_tags.items()):
                    firing[raw["AlarmName"]] = raw
        return [
            Alarm(
                name=name,
                state="ALARM",
                reason=raw.get("StateReason", ""),
                description=raw.get("AlarmDescription", ""),
                since=raw.get("StateUpdatedTimestamp"),
            )
            for name, raw in sorted(firing.items())
        ]
