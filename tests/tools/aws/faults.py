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


def error_response(code: str, message: str, status: int = 400, protocol: str = "json") -> AWSResponse:
    """An AWS error response in the client's wire protocol: JSON (ECS, ECR, Logs, Secrets Manager, SSM),
    query/XML (ELBv2) or RPCv2 CBOR (CloudWatch)."""
    if protocol == "query":
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
            "</Error><RequestId>stand-in</RequestId></ErrorResponse>"
        ).encode()
        headers = {"content-type": "text/xml"}
    elif protocol == "smithy-rpc-v2-cbor":
        body = _cbor_map({"__type": code, "message": message})
        headers = {"content-type": "application/cbor", "smithy-protocol": "rpc-v2-cbor"}
    else:
        body = json.dumps({"__type": code, "message": message}).encode()
        headers = {"x-amzn-errortype": code, "content-type": "application/x-amz-json-1.1"}
    return AWSResponse("https://stand-in", status, headers, _Raw(body))


def _cbor_map(values: dict[str, str]) -> bytes:
    """A CBOR map of short text strings (RFC 8949: major types 5 and 3)."""

    def text(value: str) -> bytes:
        raw = value.encode()
        assert len(raw) < 256
        return (bytes([0x60 + len(raw)]) if len(raw) < 24 else bytes([0x78, len(raw)])) + raw

    assert len(values) < 24
    return bytes([0xA0 + len(values)]) + b"".join(text(k) + text(v) for k, v in values.items())


def protocol_of(client: Any) -> str:
    """The wire protocol the client speaks (CloudWatch lists several; botocore picks one)."""
    model = client.meta.service_model
    return str(getattr(model, "resolved_protocol", None) or model.protocol)


def inject(client: Any, event: str, decide: Callable[[], AWSResponse | None]) -> None:
    """Before each matching request is sent, `decide` may answer in AWS's place (retries apply)."""
    client.meta.events.register(f"before-send.{event}" if event else "before-send", lambda **_: decide())


def every_third(
    code: str = "ThrottlingException", protocol: str = "json", calls: dict[str, int] | None = None
) -> Callable[[], AWSResponse | None]:
    """Throttle every third request; clients that share `calls` share the count."""
    calls = {"n": 0} if calls is None else calls

    def decide() -> AWSResponse | None:
        calls["n"] += 1
        return error_response(code, "Rate exceeded", protocol=protocol) if calls["n"] % 3 == 0 else None

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
