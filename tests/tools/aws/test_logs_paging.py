"""CloudWatch Logs paging: FilterLogEvents may answer an empty page whose nextToken is not the end; the
count goes to the real end of the window, up to a cap that the result reports (botocore's Stubber gives
the exact responses, which moto does not produce)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
from botocore.stub import ANY, Stubber

from tools.aws.logs import AwsLogs
from tools.config import sandbox_default_config
from tools.models import ServiceTarget

START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


class _Session:
    def __init__(self, client) -> None:  # type: ignore[no-untyped-def]
        self._client = client

    def client(self, name: str):  # type: ignore[no-untyped-def]
        assert name == "logs"
        return self._client


def _target() -> ServiceTarget:
    config = sandbox_default_config()
    return ServiceTarget(key="checkout-api", name="checkout-api", environment="production", cluster="prod",
                         config=config.services["checkout-api"])


def _events(first: int, count: int) -> list[dict]:  # type: ignore[type-arg]
    at = int(START.timestamp() * 1000)
    return [{"timestamp": at + (first + i) * 1000, "message": f"ERROR boom {first + i}\n",
             "logStreamName": "ecs/app/task123", "eventId": str(first + i), "ingestionTime": at}
            for i in range(count)]


def _logs(pages: list[dict], **caps: int) -> tuple[AwsLogs, Stubber]:  # type: ignore[type-arg]
    client = boto3.client("logs", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="y")
    stubber = Stubber(client)
    for page in pages:
        stubber.add_response("filter_log_events", page, {"logGroupName": "/ecs/checkout-api", "startTime": ANY,
                                                         "endTime": ANY, "filterPattern": "ERROR", "limit": ANY,
                                                         **({"nextToken": ANY} if page is not pages[0] else {})})
    stubber.activate()
    return AwsLogs(_Session(client), **caps), stubber  # type: ignore[arg-type]


def test_an_empty_page_with_a_token_is_not_the_end() -> None:
    logs, stubber = _logs([{"events": _events(0, 3), "nextToken": "a"}, {"events": [], "nextToken": "b"},
                           {"events": _events(3, 2)}])
    found = logs.error_events(_target(), START, START + timedelta(minutes=10), limit=4)
    stubber.assert_no_pending_responses()
    assert (found.total, found.complete, found.note) == (5, True, "")
    assert [e.message for e in found.events] == [f"ERROR boom {i}" for i in range(1, 5)]  # the newest 4
    assert found.events[0].task_id == "task123"


def test_the_cap_is_reported_as_a_lower_bound() -> None:
    logs, _ = _logs([{"events": _events(0, 3), "nextToken": "a"}, {"events": [], "nextToken": "b"}], max_pages=2)
    found = logs.error_events(_target(), START, START + timedelta(minutes=10))
    assert (found.total, found.complete) == (3, False) and "2 pages" in found.note
    assert found.shown == "at least 3"
    logs, _ = _logs([{"events": _events(0, 3), "nextToken": "a"}], max_events=2)
    found = logs.error_events(_target(), START, START + timedelta(minutes=10))
    assert (found.total, found.complete, found.note) == (2, False, "stopped counting at 2 events")
