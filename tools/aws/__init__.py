"""The production backend: ECS, ECR, CloudWatch, CloudWatch Logs, Secrets Manager/SSM and ELBv2 via boto3.

    backend = open_ecs_backend(config, "production")   # makes no AWS call until a tool is used

Chosen by an environment with `backend: ecs` in runbook.yaml. Credentials come from the standard
chain with the profile, and the region, as `tools.config_env` orders them (--profile > AWS_PROFILE >
the environment's `profile`; --region > AWS_REGION > AWS_DEFAULT_REGION > its `region`);
AWS_ENDPOINT_URL is honoured by boto3 itself. Retries are botocore's adaptive mode
(AWS_MAX_ATTEMPTS total attempts, default 10), which absorbs throttling with backoff; the
retries spent are logged (logger `tools.aws`, INFO) when the backend closes.
"""

from __future__ import annotations

import logging

from tools.aws.alarms import AwsIncidents
from tools.aws.cloudwatch import AwsMetrics
from tools.aws.ecr import EcrRegistry
from tools.aws.ecs import EcsPlatform
from tools.aws.elbv2 import LoadBalancers
from tools.aws.logs import AwsLogs
from tools.aws.secrets import AwsSecrets
from tools.aws.session import AwsSession, choose_clock
from tools.backend import Backend
from tools.config import ConfigError, RunbookConfig

__all__ = ["open_ecs_backend", "AwsSession"]

log = logging.getLogger(__name__)


def open_ecs_backend(config: RunbookConfig, environment: str) -> Backend:
    env_name, env = config.environment(environment)
    if env.backend != "ecs":
        raise ConfigError(f"Environment '{env_name}' does not use backend 'ecs'.")
    session = AwsSession(env, config)
    lbs = LoadBalancers(session)
    platform = EcsPlatform(session, lbs)
    backend = Backend(
        name="ecs",
        platform=platform,
        registry=EcrRegistry(session),
        metrics=AwsMetrics(session, lbs, platform.stable_target_groups, platform.canary_version),
        logs=AwsLogs(session),
        incidents=AwsIncidents(session),
        secrets=AwsSecrets(session),
        clock=choose_clock(config),
    )
    backend.on_close.append(
        lambda: log.info("AWS: %d API calls, %d retries (throttling absorbed)", session.calls, session.retries)
    )
    return backend
