"""CloudWatch Logs: a service's error events over a window, counted to the end of the window.

FilterLogEvents pages through the log group; a page may be empty and still carry a `nextToken` that is
not the end (it searched a stretch of streams with no match), so reading continues until a page has no
token, up to a cap on events and pages that the result reports (`LogSearch.complete`, `note`).
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime

from tools.aws.errors import aws_call
from tools.aws.session import AwsSession
from tools.models import LogEvent, LogSearch, ServiceTarget

MAX_EVENTS = 10_000  # counted at most per search; past this the count is "at least"
MAX_PAGES = 100  # FilterLogEvents calls per search, empty pages included
PAGE_SIZE = 10_000  # the API's own maximum per page


def log_group_of(target: ServiceTarget) -> str:
    return target.config.ecs.log_group or f"/ecs/{target.name}"


def _millis(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _event(raw: dict) -> LogEvent:  # type: ignore[type-arg]
    return LogEvent(
        timestamp=datetime.fromtimestamp(raw["timestamp"] / 1000, UTC),
        message=raw["message"].rstrip("\n"),
        # awslogs streams are "<prefix>/<container>/<task id>"
        task_id=raw.get("logStreamName", "").rsplit("/", 1)[-1] or None,
    )


class AwsLogs:
    def __init__(self, session: AwsSession, max_events: int = MAX_EVENTS, max_pages: int = MAX_PAGES) -> None:
        self.session = session
        self.max_events = max_events
        self.max_pages = max_pages

    def error_events(
        self,
        target: ServiceTarget,
        start: datetime,
        end: datetime,
        pattern: str | None = None,
        limit: int = 200,
    ) -> LogSearch:
        group = log_group_of(target)
        kwargs: dict[str, object] = {
            "logGroupName": group,
            "startTime": _millis(start),
            "endTime": _millis(end),
            "filterPattern": pattern or target.config.ecs.error_filter_pattern,
            "limit": PAGE_SIZE,
        }
        newest: deque[LogEvent] = deque(maxlen=max(limit, 0))
        total = pages = 0
        note = ""
        with aws_call("logs:FilterLogEvents", f"log group {group}"):
            while True:
                page = self.session.client("logs").filter_log_events(**kwargs)
                pages += 1
                raw_events = page.get("events") or []
                for raw in raw_events[: max(self.max_events - total, 0)]:
                    newest.append(_event(raw))
                    total += 1
                token = page.get("nextToken")
                if not token:
                    break
                if total >= self.max_events:
                    note = f"stopped counting at {self.max_events:,} events"
                    break
                if pages >= self.max_pages:
                    note = f"stopped after {self.max_pages} pages of FilterLogEvents"
                    break
                kwargs["nextToken"] = token
        events = sorted(newest, key=lambda e: e.timestamp)
        return LogSearch(events=events, total=total, complete=not note, note=note)
