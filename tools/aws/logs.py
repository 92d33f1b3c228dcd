"""CloudWatch Logs: a service's error events over a window."""

from __future__ import annotations

from datetime import UTC, datetime

from tools.aws.errors import aws_call
from tools.aws.session import AwsSession
from tools.models import LogEvent, ServiceTarget


def log_group_of(target: ServiceTarget) -> str:
    return target.config.ecs.log_group or f"/ecs/{target.name}"


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class AwsLogs:
    def __init__(self, session: AwsSession) -> None:
        self.session = session

    def error_events(
        self,
        target: ServiceTarget,
        start: datetime,
        end: datetime,
        pattern: str | None = None,
        limit: int = 200,
    ) -> list[LogEvent]:
        group = log_group_of(target)
        kwargs = {
            "logGroupName": group,
            "startTime": _millis(start),
            "endTime": _millis(end),
            "filterPattern": pattern or target.config.ecs.error_filter_pattern,
            "limit": min(limit, 10000),
        }
        events: list[LogEvent] = []
        with aws_call("logs:FilterLogEvents", f"log group {group}"):
            while len(events) < limit:
                page = self.session.client("logs").filter_log_events(**kwargs)
                for raw in page.get("events", []):
                    events.append(
                        LogEvent(
                            timestamp=datetime.fromtimestamp(raw["timestamp"] / 1000, UTC),
                            message=raw["message"].rstrip("\n"),
                            # awslogs streams are "<prefix>/<container>/<task id>"
                            task_id=raw.get("logStreamName", "").rsplit("/", 1)[-1] or None,
                        )
                    )
                if not page.get("nextToken") or not page.get("events"):
                    break
                kwargs["nextToken"] = page["nextToken"]
        return events[:limit]
