"""The sandbox platform: the seeded fleet, task definitions, canaries and rolling updates."""

from __future__ import annotations

import re

import pytest

from tools.backend import Backend, BackendError, NotFound, target_for
from tools.config import RunbookConfig
from tools.models import ServiceTarget, TaskDefinition


def new_revision(backend: Backend, target: ServiceTarget, version: str) -> TaskDefinition:
    image = backend.registry.find_image(target.config.image_repository, version)
    assert image is not None
    return backend.platform.register_revision(target, backend.platform.current_task_definition(target), image)


def test_seeded_checkout_api_in_production(backend: Backend, checkout: ServiceTarget) -> None:
    status = backend.platform.describe_service(checkout)
    assert (status.name, status.cluster, status.platform) == ("checkout-api", "prod", "sandbox ECS")
    assert (status.desired, status.running, status.pending, status.healthy_tasks) == (10, 10, 0, 10)
    assert status.version == "1.2.2" and status.task_definition == "checkout-api:44"
    assert status.image == "registry.example.com/checkout-api:1.2.2"
    assert not status.deployment_in_progress
    assert status.last_deployed_at is not None
    assert 20 <= (backend.clock.now() - status.last_deployed_at).total_seconds() / 3600 <= 28

    definition = backend.platform.current_task_definition(checkout)
    assert (definition.family, definition.revision, definition.container) == ("checkout-api", 44, "app")
    assert (definition.cpu, definition.memory_mb) == (256, 512)
    assert set(checkout.config.required_env) <= set(definition.environment)
    assert definition.secrets["DB_PASSWORD"].startswith("arn:aws:secretsmanager:")
    assert definition.health_check is not None and "/health" in " ".join(definition.health_check.command)


@pytest.mark.parametrize(
    ("service", "environment", "tasks"),
    [
        ("checkout-api", "staging", 2),
        ("payments-api", "production", 6),
        ("payments-api", "staging", 2),
        ("inventory-api", "production", 4),
        ("inventory-api", "staging", 1),
        ("notifications-worker", "production", 3),
        ("notifications-worker", "staging", 1),
    ],
)
def test_every_service_is_seeded_and_deployable(
    backend: Backend, config: RunbookConfig, service: str, environment: str, tasks: int
) -> None:
    target = target_for(config, service, environment)
    status = backend.platform.describe_service(target)
    assert status.running == tasks == status.healthy_tasks
    definition = backend.platform.current_task_definition(target)
    assert definition.container == target.config.container
    assert set(target.config.required_env) <= set(definition.environment)
    for name, reference in definition.secrets.items():
        assert backend.secrets.check_readable(name, reference).readable
    newer = [
        tag
        for tag in ("1.2.3", "3.4.2", "3.5.0", "2.4.0", "1.0.0")
        if backend.registry.find_image(target.config.image_repository, tag)
    ]
    assert any(tag != status.version for tag in newer)


def test_unknown_service_or_revision_is_not_found(backend: Backend, checkout: ServiceTarget) -> None:
    ghost = checkout.model_copy(update={"name": "ghost-api"})
    with pytest.raises(NotFound, match="Service 'ghost-api' not found in cluster 'prod'."):
        backend.platform.describe_service(ghost)
    with pytest.raises(NotFound, match="Cluster 'nowhere'"):
        backend.platform.describe_service(checkout.model_copy(update={"cluster": "nowhere"}))
    with pytest.raises(NotFound, match="checkout-api:999"):
        backend.platform.task_definition(checkout, 999)


def test_register_revision_copies_everything_but_the_image(backend: Backend, checkout: ServiceTarget) -> None:
    base = backend.platform.current_task_definition(checkout)
    first = new_revision(backend, checkout, "1.2.3")
    second = new_revision(backend, checkout, "1.2.4")
    assert (first.revision, second.revision) == (45, 46)
    assert first.image.startswith("registry.example.com/checkout-api:1.2.3@sha256:") and first.version == "1.2.3"
    assert first.model_dump(exclude={"revision", "image", "version", "arn"}) == base.model_dump(
        exclude={"revision", "image", "version", "arn"}
    )
    assert first.arn and first.arn.endswith("task-definition/checkout-api:45")
    assert backend.platform.task_definition(checkout, 45) == first
    assert backend.platform.current_task_definition(checkout).revision == 44  # registering deploys nothing


def test_canary_start_and_idempotent_removal(backend: Backend, checkout: ServiceTarget) -> None:
    revision = new_revision(backend, checkout, "1.2.3")
    tasks = backend.platform.start_canary(checkout, "dep-test", revision, 1)
    assert len(tasks) == 1
    assert re.fullmatch(r"checkout-api-canary-[0-9a-f]{6}", tasks[0].task_id)
    assert (tasks[0].status, tasks[0].health, tasks[0].version) == ("RUNNING", "HEALTHY", "1.2.3")
    assert backend.platform.canary_tasks(checkout, "dep-test") == tasks
    assert backend.platform.describe_service(checkout).running == 10  # the canary is not the service's

    backend.platform.remove_canary(checkout, "dep-test")
    backend.platform.remove_canary(checkout, "dep-test")
    assert backend.platform.canary_tasks(checkout, "dep-test") == []
    with pytest.raises(BackendError):
        backend.platform.start_canary(checkout, "dep-test", revision, 0)


def test_rollout_progresses_with_the_clock(backend: Backend, checkout: ServiceTarget) -> None:
    revision = new_revision(backend, checkout, "1.2.3")
    backend.platform.start_rollout(checkout, revision)
    assert backend.platform.describe_service(checkout).deployment_in_progress

    seen: list[tuple[int, int]] = []
    for _ in range(10):
        status = backend.platform.rollout_status(checkout)
        seen.append((status.old_running, status.new_running))
        if status.state == "COMPLETED":
            break
        assert status.state == "IN_PROGRESS"
        assert backend.platform.describe_service(checkout).version == "1.2.2"
        backend.clock.sleep(68)
    assert seen == [(10, 0), (8, 2), (5, 5), (2, 8), (0, 10)]

    service = backend.platform.describe_service(checkout)
    assert service.version == "1.2.3" and service.task_definition == "checkout-api:45"
    assert service.running == 10 and {t.version for t in service.tasks} == {"1.2.3"}
    assert not service.deployment_in_progress
    assert service.last_deployed_at is not None and service.last_deployed_at <= backend.clock.now()


def test_rollback_mid_rollout_replaces_it(backend: Backend, checkout: ServiceTarget) -> None:
    stable = backend.platform.current_task_definition(checkout)
    backend.platform.start_rollout(checkout, new_revision(backend, checkout, "1.2.4"))
    backend.clock.sleep(140)
    assert backend.platform.rollout_status(checkout).new_running == 5

    backend.platform.start_rollout(checkout, stable)
    backend.clock.sleep(300)
    status = backend.platform.rollout_status(checkout)
    assert (status.state, status.new_running, status.old_running) == ("COMPLETED", 10, 0)
    assert backend.platform.describe_service(checkout).version == "1.2.2"


def test_load_balancer_health_check_follows_config(backend: Backend, config: RunbookConfig) -> None:
    target = target_for(config, "payments-api", "production")
    check = backend.platform.load_balancer_health_check(target)
    assert check is not None and (check.path, check.protocol, check.interval_seconds) == (
        "/healthz",
        "HTTP",
        15,
    )


def test_canaries_are_kept_per_deployment(backend: Backend, checkout: ServiceTarget) -> None:
    revision = new_revision(backend, checkout, "1.2.3")
    mine = backend.platform.start_canary(checkout, "dep-aaaa", revision, 1)
    theirs = backend.platform.start_canary(checkout, "dep-bbbb", revision, 2)
    assert backend.platform.canary_tasks(checkout, "dep-aaaa") == mine
    assert backend.platform.canary_tasks(checkout, "dep-bbbb") == theirs
    listed = {c.deployment_id: (c.name, c.version, c.running) for c in backend.platform.list_canaries(checkout)}
    assert listed == {"dep-aaaa": ("checkout-api-canary-aaaa", "1.2.3", 1),
                      "dep-bbbb": ("checkout-api-canary-bbbb", "1.2.3", 2)}

    backend.platform.remove_canary(checkout, "dep-aaaa")
    assert backend.platform.canary_tasks(checkout, "dep-aaaa") == []
    assert backend.platform.canary_tasks(checkout, "dep-bbbb") == theirs  # another deploy's canary is untouched
    assert [c.deployment_id for c in backend.platform.list_canaries(checkout)] == ["dep-bbbb"]
