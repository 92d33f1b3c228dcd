"""The fleet the sandbox starts with: deterministic from the seed, times relative to `now`.

Services come from the configuration; the four built-in ones (checkout-api, payments-api,
inventory-api, notifications-worker) get the catalog below, any other service a generic shape.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tools.config import RunbookConfig, ServiceConfig
from tools.models import HealthCheckInfo, Image, TaskDefinition
from tools.sandbox.state import (
    AlarmRecord,
    ClusterState,
    FleetState,
    ServiceState,
    TaskRecord,
    TimelineEntry,
)

_ACCOUNTS = {"prod": "123456789012", "staging": "210987654321"}
_REGION = "us-east-1"


@dataclass(frozen=True)
class ServiceSeed:
    images: dict[str, float]  # tag -> hours before seeding it was pushed
    version: dict[str, str]  # "prod" / "staging" -> running version
    tasks: dict[str, int]
    requests_per_minute: dict[str, float]
    revision: dict[str, int]
    deployed_hours_ago: dict[str, float]
    environment: dict[str, str]  # "{env}" is replaced by the environment kind
    secrets: dict[str, str]  # env var -> secret name
    cpu: int = 256
    memory_mb: int = 512
    image_mb: tuple[int, int] = (240, 250)
    p99_alarm_ms: float = 1000.0
    alarm_notes: dict[str, str] = field(default_factory=dict)


CATALOG: dict[str, ServiceSeed] = {
    "checkout-api": ServiceSeed(
        images={"1.2.0": 720, "1.2.1": 336, "1.2.2": 30, "1.2.3": 6, "1.2.4": 4, "1.2.5": 2,
                "1.2.6": 1.8, "1.2.7": 1.6, "1.2.8": 1.4, "1.2.9": 1.2},
        version={"prod": "1.2.2", "staging": "1.2.2"},
        tasks={"prod": 10, "staging": 2},
        requests_per_minute={"prod": 1200, "staging": 120},
        revision={"prod": 44, "staging": 52},
        deployed_hours_ago={"prod": 24, "staging": 27},
        environment={
            "DATABASE_URL": "postgres://checkout@checkout-db.{env}.internal:5432/checkout",
            "PAYMENTS_API_URL": "http://payments-api.{env}.internal",
            "LOG_LEVEL": "info",
        },
        secrets={"DB_PASSWORD": "checkout-api/db-password"},
    ),
    "payments-api": ServiceSeed(
        images={"3.4.0": 500, "3.4.1": 50, "3.4.2": 5, "3.5.0": 1},
        version={"prod": "3.4.1", "staging": "3.4.2"},
        tasks={"prod": 6, "staging": 2},
        requests_per_minute={"prod": 800, "staging": 90},
        revision={"prod": 118, "staging": 131},
        deployed_hours_ago={"prod": 2, "staging": 4},
        environment={
            "DATABASE_URL": "postgres://payments@payments-db.{env}.internal:5432/payments",
            "STRIPE_WEBHOOK_URL": "https://payments-api.{env}.example.com/webhooks/stripe",
            "LOG_LEVEL": "info",
        },
        secrets={"DB_PASSWORD": "payments-api/db-password", "STRIPE_API_KEY": "payments-api/stripe-api-key"},
        cpu=512,
        memory_mb=1024,
        image_mb=(180, 190),
        p99_alarm_ms=1500.0,
        alarm_notes={
            "5xx-rate": "Runbook: check the card processor status page, then recent deploys of payments-api."
        },
    ),
    "inventory-api": ServiceSeed(
        images={"2.3.0": 400, "2.3.1": 30, "2.4.0": 8},
        version={"prod": "2.3.1", "staging": "2.3.1"},
        tasks={"prod": 4, "staging": 1},
        requests_per_minute={"prod": 600, "staging": 60},
        revision={"prod": 27, "staging": 33},
        deployed_hours_ago={"prod": 26, "staging": 29},
        environment={
            "DATABASE_URL": "postgres://inventory@inventory-db.{env}.internal:5432/inventory",
            "LOG_LEVEL": "info",
        },
        secrets={"DB_PASSWORD": "inventory-api/db-password"},
        image_mb=(150, 160),
    ),
    "notifications-worker": ServiceSeed(
        images={"0.9.0": 900, "0.9.1": 200, "1.0.0": 12},
        version={"prod": "0.9.1", "staging": "0.9.1"},
        tasks={"prod": 3, "staging": 1},
        requests_per_minute={"prod": 300, "staging": 45},
        revision={"prod": 9, "staging": 12},
        deployed_hours_ago={"prod": 190, "staging": 195},
        environment={"QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/{account}/notifications-{env}"},
        secrets={"SMTP_PASSWORD": "notifications-worker/smtp-password"},
        cpu=256,
        memory_mb=512,
        image_mb=(95, 105),
        p99_alarm_ms=2000.0,
    ),
}


def _generic(config: ServiceConfig) -> ServiceSeed:
    return ServiceSeed(
        images={"0.9.0": 500, "1.0.0": 48, "1.1.0": 3},
        version={"prod": "1.0.0", "staging": "1.0.0"},
        tasks={"prod": 2, "staging": 1},
        requests_per_minute={"prod": 300, "staging": 60},
        revision={"prod": 10, "staging": 12},
        deployed_hours_ago={"prod": 30, "staging": 32},
        environment={name: f"sandbox-{name.lower().replace('_', '-')}" for name in config.required_env},
        secrets={},
        image_mb=(100, 120),
    )


def env_kind(environment: str, cluster: str) -> str:
    """Production-sized or staging-sized: environments named prod* are production."""
    return "prod" if environment.startswith("prod") or cluster.startswith("prod") else "staging"


def digest(seed: int, repository: str, tag: str) -> str:
    return "sha256:" + hashlib.sha256(f"{seed}:{repository}:{tag}".encode()).hexdigest()


def short_id(*parts: object, length: int = 12) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:length]


def seed_fleet(config: RunbookConfig, now: datetime) -> FleetState:
    seed = config.sandbox.seed
    rng = random.Random(f"runbook-sandbox|{seed}")
    state = FleetState(seed=seed, seeded_at=now, virtual_now=now)
    for key, svc in sorted(config.services.items()):
        shape = CATALOG.get(key) or _generic(svc)
        images = state.images.setdefault(svc.image_repository, [])
        for tag, hours in sorted(shape.images.items(), key=lambda item: -item[1]):
            size_mb = rng.uniform(*shape.image_mb)
            images.append(
                Image(
                    repository=svc.image_repository,
                    tag=tag,
                    uri=f"{svc.image_repository}:{tag}",
                    digest=digest(seed, svc.image_repository, tag),
                    size_bytes=int(size_mb * 1_000_000),
                    pushed_at=now - timedelta(hours=hours, minutes=rng.randint(0, 50)),
                )
            )
    for env_name, env in sorted(config.environments.items()):
        if env.backend != "sandbox" or env.cluster in state.clusters:
            continue
        cluster = state.clusters.setdefault(env.cluster, ClusterState())
        kind = env_kind(env_name, env.cluster)
        for key, svc in sorted(config.services.items()):
            shape = CATALOG.get(key) or _generic(svc)
            _seed_service(state, cluster, env.cluster, kind, key, svc, shape, now)
    return state


def _seed_service(
    state: FleetState,
    cluster: ClusterState,
    cluster_name: str,
    kind: str,
    key: str,
    svc: ServiceConfig,
    shape: ServiceSeed,
    now: datetime,
) -> None:
    name = svc.service_name or key
    account = _ACCOUNTS.get(kind, _ACCOUNTS["staging"])
    version, revision = shape.version[kind], shape.revision[kind]
    secrets: dict[str, str] = {}
    for env_var, secret in shape.secrets.items():
        suffix = short_id(state.seed, cluster_name, secret, length=6)
        reference = f"arn:aws:secretsmanager:{_REGION}:{account}:secret:{cluster_name}/{secret}-{suffix}"
        secrets[env_var] = reference
        state.secrets[reference] = True
    health = HealthCheckInfo(
        path=svc.health_check.path,
        protocol=svc.health_check.protocol,
        interval_seconds=svc.health_check.interval_seconds,
        command=["CMD-SHELL", f"curl -fsS http://localhost:8080{svc.health_check.path} || exit 1"],
    )
    environment = {k: v.format(env=kind, account=account) for k, v in shape.environment.items()}
    ordered = sorted(shape.images, key=lambda tag: -shape.images[tag])  # oldest push first
    at = ordered.index(version)
    previous_version = ordered[at - 1] if at > 0 else version
    definitions: list[TaskDefinition] = []
    for rev, tag in ((revision - 1, previous_version), (revision, version)):
        definitions.append(
            TaskDefinition(
                family=name,
                revision=rev,
                container=svc.container,
                image=f"{svc.image_repository}:{tag}",
                version=tag,
                cpu=shape.cpu,
                memory_mb=shape.memory_mb,
                environment=dict(environment),
                secrets=dict(secrets),
                health_check=health,
                arn=f"arn:aws:ecs:{_REGION}:{account}:task-definition/{name}:{rev}",
            )
        )
    cluster.task_definitions[name] = definitions
    deployed = now - timedelta(hours=shape.deployed_hours_ago[kind])
    count = shape.tasks[kind]
    tasks = [
        TaskRecord(
            task_id=short_id(state.seed, cluster_name, name, revision, i, length=32),
            revision=revision,
            version=version,
            started_at=deployed + timedelta(seconds=20 * i),
        )
        for i in range(count)
    ]
    before = definitions[0]
    earlier_ids = [
        short_id(state.seed, cluster_name, name, before.revision, i, length=32) for i in range(count)
    ]
    service = ServiceState(
        name=name,
        cluster=cluster_name,
        kind=key if key in CATALOG else "generic",
        family=name,
        primary_revision=revision,
        desired=count,
        requests_per_minute=shape.requests_per_minute[kind],
        tasks=tasks,
        last_deployed_at=deployed,
        timeline=[
            TimelineEntry(at=deployed - timedelta(days=7), tasks={before.version: earlier_ids}),
            TimelineEntry(at=deployed, tasks={version: [t.task_id for t in tasks]}),
        ],
        alarms=[
            AlarmRecord(
                name=f"{name}-5xx-rate",
                description=" ".join(
                    [f"5xx responses above 2% of {name} requests for 3 minutes."]
                    + ([shape.alarm_notes["5xx-rate"]] if "5xx-rate" in shape.alarm_notes else [])
                ),
                metric="error_rate_percent",
                threshold=2.0,
            ),
            AlarmRecord(
                name=f"{name}-p99-latency",
                description=f"p99 latency of {name} above {shape.p99_alarm_ms:.0f} ms for 3 minutes.",
                metric="p99_ms",
                threshold=shape.p99_alarm_ms,
            ),
        ],
    )
    cluster.services[name] = service
