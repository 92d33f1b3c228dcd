from __future__ import annotations

import pytest

from tests.tools.aws.world import CLUSTER, DESIRED, REPO_HOST, SERVICE, World
from tools.backend import Backend, NotFound
from tools.models import ServiceTarget


def test_describe_service_reads_version_tasks_and_health(backend: Backend, target: ServiceTarget) -> None:
    status = backend.platform.describe_service(target)
    assert (status.name, status.cluster, status.platform) == (SERVICE, CLUSTER, "ECS")
    assert status.version == "1.2.2" and status.task_definition == f"{SERVICE}:1"
    assert status.desired == DESIRED and len(status.tasks) == DESIRED
    assert status.healthy_tasks == DESIRED  # healthy through the target group
    assert not status.deployment_in_progress


def test_unknown_service_and_cluster_are_not_found(backend: Backend, target: ServiceTarget) -> None:
    with pytest.raises(NotFound, match="ECS service nope does not exist in cluster prod"):
        backend.platform.describe_service(target.model_copy(update={"name": "nope"}))
    with pytest.raises(NotFound, match="cluster nowhere"):
        backend.platform.describe_service(target.model_copy(update={"cluster": "nowhere"}))


def test_current_task_definition(backend: Backend, target: ServiceTarget) -> None:
    td = backend.platform.current_task_definition(target)
    assert (td.family, td.revision, td.version, td.cpu, td.memory_mb) == (SERVICE, 1, "1.2.2", 512, 1024)
    assert td.environment == {"LOG_LEVEL": "info", "PAYMENTS_API_URL": "x"}
    assert set(td.secrets) == {"DATABASE_URL", "API_KEY"}
    assert td.health_check is not None and td.health_check.interval_seconds == 15


def test_register_revision_changes_only_the_image(
    backend: Backend, target: ServiceTarget, world: World
) -> None:
    base = backend.platform.current_task_definition(target)
    image = backend.registry.find_image(target.config.image_repository, "1.2.3")
    assert image is not None
    new = backend.platform.register_revision(target, base, image)
    # pinned by digest: what the approval names is what runs
    assert (new.revision, new.version, new.image) == (2, "1.2.3", f"{REPO_HOST}/{SERVICE}:1.2.3@{image.digest}")
    before = world.ecs.describe_task_definition(taskDefinition=f"{SERVICE}:1", include=["TAGS"])
    after = world.ecs.describe_task_definition(taskDefinition=f"{SERVICE}:2", include=["TAGS"])
    old_c, new_c = (
        before["taskDefinition"]["containerDefinitions"][0],
        after["taskDefinition"]["containerDefinitions"][0],
    )
    assert {k: v for k, v in new_c.items() if k != "image"} == {
        k: v for k, v in old_c.items() if k != "image"
    }
    for key in ("cpu", "memory", "networkMode", "executionRoleArn", "requiresCompatibilities"):
        assert after["taskDefinition"][key] == before["taskDefinition"][key]
    assert after["tags"] == before["tags"]
    assert backend.platform.task_definition(target, 2).version == "1.2.3"


def test_canary_lifecycle_on_the_shared_target_group(
    backend: Backend, target: ServiceTarget, world: World
) -> None:
    base = backend.platform.current_task_definition(target)
    image = backend.registry.find_image(target.config.image_repository, "1.2.3")
    assert image is not None
    new = backend.platform.register_revision(target, base, image)
    backend.platform.start_canary(target, "dep-1a2b3c", new, 1)
    [canary] = world.canaries()
    assert canary["serviceName"] == f"{SERVICE}-canary-1a2b3c"
    assert {t["key"]: t["value"] for t in canary["tags"]} == {
        "runbook:canary-of": SERVICE,
        "runbook:deployment": "dep-1a2b3c",
    }
    assert canary["loadBalancers"][0]["targetGroupArn"] == world.tg_arn
    assert (
        canary["networkConfiguration"]
        == world.ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0][
            "networkConfiguration"
        ]
    )
    world.reconcile()
    tasks = backend.platform.canary_tasks(target, "dep-1a2b3c")
    assert [(t.version, t.status, t.health) for t in tasks] == [("1.2.3", "RUNNING", "HEALTHY")]
    [listed] = backend.platform.list_canaries(target)
    assert (listed.deployment_id, listed.name, listed.version) == ("dep-1a2b3c", f"{SERVICE}-canary-1a2b3c", "1.2.3")
    assert (
        len(backend.platform.describe_service(target).tasks) == DESIRED
    )  # the canary's are not the stable's
    backend.platform.remove_canary(target, "dep-1a2b3c")
    backend.platform.remove_canary(target, "dep-1a2b3c")  # a no-op the second time
    assert world.canaries() == [] and backend.platform.list_canaries(target) == []


def test_two_deployments_have_two_canaries(backend: Backend, target: ServiceTarget, world: World) -> None:
    new = backend.platform.current_task_definition(target)
    backend.platform.start_canary(target, "dep-aaaa", new, 1)
    backend.platform.start_canary(target, "dep-bbbb", new, 1)
    world.reconcile()
    assert sorted(c.deployment_id or "" for c in backend.platform.list_canaries(target)) == ["dep-aaaa", "dep-bbbb"]
    backend.platform.remove_canary(target, "dep-aaaa")
    assert [c["serviceName"] for c in world.canaries()] == [f"{SERVICE}-canary-bbbb"]  # the other is untouched
    assert len(backend.platform.canary_tasks(target, "dep-bbbb")) == 1


def test_weighted_canary_gets_traffic_once_its_targets_are_healthy(world: World, target: ServiceTarget) -> None:
    from tests.tools.aws.conftest import ecs_config
    from tools.aws import open_ecs_backend
    from tools.backend import target_for
    from tools.config import parse_config

    config = parse_config(
        ecs_config({"canary_target_group_arn": world.canary_tg_arn, "listener_arn": world.listener_arn}),
        "test",
    )
    backend, target = open_ecs_backend(config, "production"), target_for(config, SERVICE, "production")

    def weights() -> dict[str, int]:
        forward = world.elbv2.describe_listeners(ListenerArns=[world.listener_arn])["Listeners"][0][
            "DefaultActions"
        ][0]
        groups = (forward.get("ForwardConfig") or {}).get("TargetGroups") or [
            {"TargetGroupArn": forward["TargetGroupArn"], "Weight": 100}
        ]
        return {g["TargetGroupArn"]: g["Weight"] for g in groups}

    new = backend.platform.current_task_definition(target)
    backend.platform.start_canary(target, "dep-1", new, 1)
    [canary] = world.canaries()
    assert canary["loadBalancers"][0]["targetGroupArn"] == world.canary_tg_arn
    assert backend.platform.canary_tasks(target, "dep-1") == []
    assert weights() == {world.tg_arn: 100}  # no canary task registered yet: no traffic for it
    world.reconcile()  # the canary task starts and its target is registered (healthy: moto)
    [task] = backend.platform.canary_tasks(target, "dep-1")
    assert (task.health, task.registered) == ("HEALTHY", True)
    assert weights() == {world.tg_arn: 90, world.canary_tg_arn: 10}
    backend.platform.remove_canary(target, "dep-1")
    assert weights() == {world.tg_arn: 100}


def test_rollout_completes_as_tasks_are_replaced(
    backend: Backend, target: ServiceTarget, world: World
) -> None:
    image = backend.registry.find_image(target.config.image_repository, "1.2.3")
    assert image is not None
    new = backend.platform.register_revision(target, backend.platform.current_task_definition(target), image)
    backend.platform.start_rollout(target, new)
    status = backend.platform.rollout_status(target)
    assert (status.state, status.new_running, status.old_running) == ("IN_PROGRESS", 0, DESIRED)
    world.reconcile()
    status = backend.platform.rollout_status(target)
    assert (status.state, status.new_running, status.old_running) == ("COMPLETED", DESIRED, 0)
    assert backend.platform.describe_service(target).version == "1.2.3"
    backend.platform.roll_back(target, 1)  # type: ignore[attr-defined]
    world.reconcile()
    assert backend.platform.rollout_status(target).state == "COMPLETED"
    assert backend.platform.describe_service(target).version == "1.2.2"


def test_health_check_comes_from_the_target_group(backend: Backend, target: ServiceTarget) -> None:
    check = backend.platform.load_balancer_health_check(target)
    assert check is not None and (check.path, check.protocol, check.interval_seconds) == (
        "/health",
        "HTTP",
        15,
    )
