"""What botocore cannot get from moto: AWS errors injected on the wire (`inject`, before-send) and AWS
answers moto gets wrong rewritten after parsing (`rewrite`, after-call), through botocore's events."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSResponse


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_: Any) -> Any:
        yield self.body


def error_response(code: str, message: str, status: int = 400) -> AWSResponse:
    """A JSON-protocol error response (ECS, Secrets Manager, ...)."""
    body = json.dumps({"__type": code, "message": message}).encode()
    headers = {"x-amzn-errortype": code, "content-type": "application/x-amz-json-1.1"}
    return AWSResponse("https://stand-in", status, headers, _Raw(body))


def inject(client: Any, event: str, decide: Callable[[], AWSResponse | None]) -> None:
    """Before each matching request is sent, `decide` may answer in AWS's place (retries apply)."""
    client.meta.events.register(f"before-send.{event}", lambda **_: decide())


def every_third(code: str = "ThrottlingException") -> Callable[[], AWSResponse | None]:
    calls = {"n": 0}

    def decide() -> AWSResponse | None:
        calls["n"] += 1
        return error_response(code, "Rate exceeded") if calls["n"] % 3 == 0 else None

    decide.calls = calls  # type: ignore[attr-defined]
    return decide


def rewrite(client: Any, event: str, edit: Callable[[dict[str, Any]], None]) -> None:
    """After each matching call, `edit` changes the parsed response in place, as AWS would have answered."""
    client.meta.events.register(f"after-call.{event}", lambda parsed, **_: edit(parsed))


def on_backend_clients(monkeypatch: Any, setup: Callable[[str, Any], None]) -> None:
    """Call `setup(service, client)` once on each boto3 client the ECS backend makes (an in-process deploy)."""
    from tools.aws.session import AwsSession

    original = AwsSession.client

    def client(self: AwsSession, service: str) -> Any:
        fresh = service not in self._clients
        made = original(self, service)
        if fresh:
            setup(service, made)
        return made

    monkeypatch.setattr(AwsSession, "client", client)
