"""Step 6: post-deployment validation — the whole service after the rollout against before the deploy."""

from __future__ import annotations

from datetime import datetime, timedelta

from memory.outcome import Outcome
from skills.deploy.canary import HealthEvery
from skills.deploy.context import DeployContext, DeployState
from skills.deploy.judge import Judgement, evaluate_validation, improvement_lines
from skills.events import MetricsObserved, Progress, StepFinished, StepStarted
from tools.models import MetricWindow

TICK_SECONDS = 30


def snapshot(window: MetricWindow) -> dict[str, float | None]:
    """What the scratchpad keeps of a window."""
    return {
        "error_rate_percent": window.error_rate_percent,
        "p99_ms": window.p99_ms,
        "requests_per_minute": window.requests_per_minute,
        "requests": float(window.requests),
    }


def _minutes(seconds: int) -> str:
    return f"{seconds // 60} minute{'s' if seconds // 60 != 1 else ''}" if seconds % 60 == 0 else f"{seconds}s"


def run_validation(ctx: DeployContext, state: DeployState, total_steps: int) -> DeployState:
    target, clock, metrics, limits = ctx.target, ctx.backend.clock, ctx.backend.metrics, ctx.thresholds
    ctx.emit(StepStarted(number=6, total=total_steps, title="Post-deployment Validation"))
    window = limits.validation_seconds
    ctx.emit(Progress(message=f"Monitoring for {_minutes(window)}..."))
    deploy_start = datetime.fromisoformat(state["started_at"])
    # Named versions, never "every version that reported" (discovering those takes ListMetrics, which may
    # not list a new version for 15 minutes): before the deploy the stable one served, after it the new one.
    before = metrics.observe(target, state.get("from_version"), deploy_start - timedelta(seconds=window), deploy_start)
    start = clock.now()
    elapsed = 0
    settle = metrics.settle_seconds(target)  # ticks before it has passed may show partial data

    def all_healthy() -> bool:
        service = ctx.backend.platform.describe_service(target)
        return service.healthy_tasks >= service.desired

    health = HealthEvery(ctx, all_healthy)

    def judge(seconds: int, final: bool) -> tuple[MetricWindow, Judgement]:
        after = metrics.observe(target, ctx.request.version, start, start + timedelta(seconds=seconds))
        judgement = evaluate_validation(before, after, limits, health(final=final))
        ctx.emit(MetricsObserved(phase="validation", elapsed_seconds=seconds, window_seconds=window,
                                 readings=judgement.readings, final=final))
        return after, judgement

    while elapsed < window:
        step = min(TICK_SECONDS, window - elapsed)
        clock.sleep(step)
        elapsed += step
        ctx.keep_lock()
        after, judgement = judge(elapsed, elapsed >= window and settle <= 0)
    if settle > 0:  # the same window again, once its data is complete
        ctx.emit(Progress(message=f"Waiting {settle:g}s for metrics to settle..."))
        clock.sleep(settle)
        after, judgement = judge(window, True)
    update: DeployState = {"metrics_before": snapshot(before), "metrics_after": snapshot(after)}
    if not judgement.healthy:
        ctx.emit(StepFinished(number=6, ok=False, message="Post-deployment validation failed"))
        return update | {"failure": "; ".join(judgement.reasons), "outcome": Outcome.LEFT_RUNNING,
                         "observations": judgement.reasons}
    ctx.emit(StepFinished(number=6, ok=True, message="Post-deployment validation passed"))
    return update | {"observations": improvement_lines(before, after)}
