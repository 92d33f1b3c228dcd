"""moto fixtures: an in-process account (`world`, `backend`) for tool tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from tests.tools.aws.world import CLUSTER, DESIRED, NAMESPACE, REPO_HOST, SERVICE, World, freeze_tasks
from tools.backend import Backend, target_for
from tools.config import RunbookConfig, parse_config
from tools.models import ServiceTarget


@pytest.fixture(autouse=True)
def _fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_MAX_ATTEMPTS": "1",
        "MOTO_ECS_SERVICE_RUNNING": str(DESIRED),
    }.items():
        monkeypatch.setenv(name, value)


def ecs_config(ecs: dict | None = None, **thresholds: object) -> dict:
    service = {
        "container": "app",
        "image_repository": f"{REPO_HOST}/{SERVICE}",
        "required_env": ["DATABASE_URL", "LOG_LEVEL"],
        # moto computes neither percentiles nor trimmed counts (STAND_INS.md): Maximum, and no slow counts
        "ecs": {"metrics_source": "custom", "metrics_namespace": NAMESPACE, "latency_statistic": "Maximum",
                "count_slow_requests": False}
        | (ecs or {}),
        "thresholds": {"canary_observation_seconds": 60, "validation_seconds": 60, "health_checks": 2}
        | thresholds,
    }
    return {
        "default_environment": "production",
        "environments": {
            "production": {
                "backend": "ecs",
                "cluster": CLUSTER,
                "region": "us-east-1",
                "approval": {"allow_self_approval": True, "risk": "high"},
            }
        },
        "services": {SERVICE: service},
    }


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        freeze_tasks()
        yield World().build()


@pytest.fixture
def config() -> RunbookConfig:
    return parse_config(ecs_config(), "test")


@pytest.fixture
def backend(world: World, config: RunbookConfig) -> Backend:
    from tools.aws import open_ecs_backend

    return open_ecs_backend(config, "production")


@pytest.fixture
def target(config: RunbookConfig) -> ServiceTarget:
    return target_for(config, SERVICE, "production")
