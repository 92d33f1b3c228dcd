"""boto3 clients for one environment: credential chain, profile, region, adaptive retries."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

from tools.clock import Clock, ScaledClock, SystemClock
from tools.config import ConfigError, EnvironmentConfig, RunbookConfig
from tools.config_env import aws_max_attempts


class AwsSession:
    """Creates each client once, on first use: opening a backend makes no AWS call.

    `env.profile` and `env.region` are already the ones to use (`tools.config_env`: --profile >
    AWS_PROFILE > the config's; --region > AWS_REGION > AWS_DEFAULT_REGION > the config's)."""

    def __init__(self, env: EnvironmentConfig, config: RunbookConfig) -> None:
        profile = env.profile
        attempts = aws_max_attempts(config)
        try:
            self.session = boto3.session.Session(profile_name=profile, region_name=env.region)
        except Exception as exc:  # botocore's ProfileNotFound and friends
            raise ConfigError(f"Cannot open AWS profile '{profile}': {exc}.") from None
        self.config = Config(
            retries={"mode": "adaptive", "total_max_attempts": attempts},
            user_agent_extra="runbook",
        )
        self._clients: dict[str, Any] = {}
        self.calls = 0  # API calls made, and how many extra attempts botocore spent on them (throttling, 5xx)
        self.retries = 0

    @property
    def region(self) -> str:
        return self.session.region_name or "us-east-1"

    def client(self, service: str) -> Any:
        if service not in self._clients:
            client = self.session.client(service, config=self.config)  # type: ignore[call-overload]
            client.meta.events.register("after-call", self._count)
            self._clients[service] = client
        return self._clients[service]

    def _count(self, parsed: dict[str, Any] | None = None, **_: Any) -> None:
        self.calls += 1
        self.retries += int(((parsed or {}).get("ResponseMetadata") or {}).get("RetryAttempts", 0))


def choose_clock(config: RunbookConfig) -> Clock:
    """Wall time against AWS. Against a local stand-in (AWS_ENDPOINT_URL set), a time scale set in the
    environment (RUNBOOK_TIME_SCALE) may speed time up, as in the sandbox: never against a real account,
    so a stray variable cannot shorten a production canary."""
    if not config.process.aws_endpoint_url or config.origin("sandbox", "time_scale") == "file":
        return SystemClock()
    return ScaledClock(scale=config.sandbox.time_scale)
