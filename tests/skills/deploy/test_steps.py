"""Each deploy step on its own, against the sandbox, through the events it emits."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from agent.runtime import Runtime, open_runtime
from memory.records import DeploymentRecord
from skills.deploy.canary import canary_task_count, run_canary
from skills.deploy.config_check import run_config_validation
from skills.deploy.context import DeployContext, DeployRequest, DeployState
from skills.deploy.prechecks import run_prechecks
from skills.deploy.rollout import roll_back, run_rollout
from skills.deploy.validation import run_validation
from skills.events import CheckFailed, CheckPassed, Event, HealthCheckResult, MetricsObserved, RolloutProgress


@dataclass
class Recorder:
    events: list[Event] = field(default_factory=list)

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list:  # type: ignore[type-arg]
        return [e for e in self.events if isinstance(e, kind)]

    def checks(self) -> dict[str, str]:
        return {e.check: e.message for e in self.events if isinstance(e, CheckPassed | CheckFailed)}


@pytest.fixture
def make_ctx() -> Iterator:  # type: ignore[type-arg]
    opened: list[Runtime] = []

    def make(version: str = "1.2.3", service: str = "checkout-api", environment: str = "production") -> DeployContext:
        runtime = open_runtime()
        request = DeployRequest(service=service, version=version, environment=environment, requester="dev")
        ctx = DeployContext.open(runtime, request, Recorder())
        ctx.store.record_deployment(DeploymentRecord(id=request.deployment_id, service=service, environment=environment,
                                                     from_version=None, to_version=version, requester="dev",
                                                     started_at=ctx.now()))
        opened.append(runtime)
        return ctx

    yield make
    for runtime in opened:
        runtime.close()


def started(ctx: DeployContext) -> DeployState:
    return {"deployment_id": ctx.request.deployment_id, "started_at": ctx.now().isoformat()}


def test_prechecks_pass_and_take_the_lock(make_ctx) -> None:  # type: ignore[no-untyped-def]
    ctx = make_ctx()
    state = started(ctx)
    state |= run_prechecks(ctx, state, 6)
    assert not state.get("outcome")
    assert state["from_version"] == "1.2.2" and state["from_revision"] == 44 and state["desired"] == 10
    assert state["image"]["digest"].startswith("sha256:")
    assert ctx.store.get_lock(ctx.lock_key, ctx.now()).deployment_id == ctx.request.deployment_id  # type: ignore[union-attr]
    checks = ctx.sink.checks()  # type: ignore[attr-defined]
    assert list(checks)[:6] == ["service_exists", "current_version", "target_image", "incidents", "deployment_lock",
                                "rollback_target"]


def test_prechecks_fail_on_a_firing_alarm_without_taking_the_lock(make_ctx) -> None:  # type: ignore[no-untyped-def]
    ctx = make_ctx()
    ctx.backend.platform.fleet.set_alarm("prod", "checkout-api", "checkout-api-5xx-rate", "ALARM", "5xx above 2%")
    state = started(ctx)
    state |= run_prechecks(ctx, state, 6)
    assert state["outcome"] == "checks_failed" and "checkout-api-5xx-rate" in state["failure"]  # type: ignore[operator]
    assert ctx.store.get_lock(ctx.lock_key, ctx.now()) is None


def test_prechecks_fail_on_a_missing_image(make_ctx) -> None:  # type: ignore[no-untyped-def]
    ctx = make_ctx(version="2.0.0")
    state = started(ctx)
    state |= run_prechecks(ctx, state, 6)
    assert state["outcome"] == "checks_failed"
    assert ctx.sink.checks()["target_image"] == "Image registry.example.com/checkout-api:2.0.0 does not exist in the registry."  # type: ignore[attr-defined]


def test_config_validation_reports_the_task_definition_diff(make_ctx) -> None:  # type: ignore[no-untyped-def]
    ctx = make_ctx()
    state = started(ctx)
    state |= run_prechecks(ctx, state, 6)
    update = run_config_validation(ctx, state, 6)
    assert not update.get("outcome")
    assert update["changes"] == ["Image: 1.2.2 → 1.2.3", "No config changes"]
    assert ctx.sink.checks()["health_check"] == "Health check endpoint: /health"  # type: ignore[attr-defined]


def test_canary_starts_checks_health_observes_and_passes(make_ctx) -> None:  # type: ignore[no-untyped-def]
    ctx = make_ctx()
    state = started(ctx)
    state |= run_prechecks(ctx, state, 6)
    state |= run_config_validation(ctx, state, 6)
    state |= run_canary(ctx, state, 6)
    assert not state.get("outcome") and state["to_revision"] == 45 and state["canary_started"]
    assert len(ctx.backend.platform.canary_tasks(ctx.target, ctx.request.deployment_id)) == 1
    assert [h.healthy for h in ctx.sink.of(HealthCheckResult)] == [True, True, True]  # type: ignore[attr-defined]
    observed = ctx.sink.of(MetricsObserved)  # type: ignore[attr-defined]
    assert observed[-1].final and observed[-1].elapsed_seconds == 60
    assert state["canary_summary"][0].startswith("Error rate:")


def test_bad_canary_fails_with_reasons(make_ctx) -> None:  # type: ignore[no-untyped-def]
    ctx = make_ctx(version="1.2.5")
    state = started(ctx)
    state |= run_prechecks(ctx, state, 6)
    state |= run_config_validation(ctx, state, 6)
    state |= run_canary(ctx, state, 6)
    assert state["outcome"] == "canary_failed"
    # p99 13x the stable's: the SLO reason ("Latency p99 ... threshold") or the comparison with the stable
    # ("Latency: N% of canary requests were slower than ...") is first, depending on the traffic's noise
    assert any(reason.startswith("Latency") for reason in state["observations"]), state["observations"]


@pytest.mark.parametrize(("desired", "percent", "count"), [(10, 10, 1), (4, 10, 1), (20, 10, 2), (10, 25, 3), (3, 50, 2)])
def test_canary_size(desired: int, percent: float, count: int) -> None:
    assert canary_task_count(desired, percent) == count


def test_rollout_replaces_every_task_and_removes_the_canary(make_ctx) -> None:  # type: ignore[no-untyped-def]
    ctx = make_ctx()
    state = started(ctx)
    state |= run_prechecks(ctx, state, 6)
    state |= run_config_validation(ctx, state, 6)
    state |= run_canary(ctx, state, 6)
    state |= run_rollout(ctx, state, 6)
    assert not state.get("outcome") and not state["canary_started"]
    progress = ctx.sink.of(RolloutProgress)  # type: ignore[attr-defined]
    assert [p.new_running for p in progress] == [0, 2, 5, 8, 10] and progress[-1].state == "COMPLETED"
    assert ctx.backend.platform.describe_service(ctx.target).version == "1.2.3"
    assert ctx.backend.platform.canary_tasks(ctx.target, ctx.request.deployment_id) == []


def test_validation_passes_for_a_better_version_and_fails_for_a_worse_one(make_ctx) -> None:  # type: ignore[no-untyped-def]
    for version, healthy in (("1.2.3", True), ("1.2.4", False)):
        ctx = make_ctx(version=version)
        state = started(ctx)
        state |= run_prechecks(ctx, state, 6)
        assert not state.get("outcome"), state
        state |= run_config_validation(ctx, state, 6)
        state |= run_canary(ctx, state, 6)
        state |= run_rollout(ctx, state, 6)
        state |= run_validation(ctx, state, 6)
        assert (not state.get("outcome")) is healthy
        assert state["metrics_after"]["requests"] > 1000
        if not healthy:
            assert roll_back(ctx, state, "validation failed")
            assert ctx.backend.platform.describe_service(ctx.target).version == state["from_version"] == "1.2.3"
        ctx.store.release_lock(ctx.lock_key, ctx.request.deployment_id)
