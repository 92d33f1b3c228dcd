"""Step 6: post-deployment validation — the whole service after the rollout against before the deploy."""

from __future__ import annotations

from datetime import datetime, timedelta

from skills.deploy.context import DeployContext, DeployState
from skills.deploy.judge import evaluate_validation, improvement_lines
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
    before = metrics.observe(target, None, deploy_start - timedelta(seconds=window), deploy_start)
    start = clock.now()
    elapsed = 0
    while elapsed < window:
        step = min(TICK_SECONDS, window - elapsed)
        clock.sleep(step)
        elapsed += step
        after = metrics.observe(target, None, start, start + timedelta(seconds=elapsed))
        service = ctx.backend.platform.describe_service(target)
        tasks_healthy = service.healthy_tasks >= service.desired
        judgement = evaluate_validation(before, after, limits, tasks_healthy)
        ctx.emit(MetricsObserved(phase="validation", elapsed_seconds=elapsed, window_seconds=window,
                                 readings=judgement.readings, final=elapsed >= window))
    update: DeployState = {"metrics_before": snapshot(before), "metrics_after": snapshot(after)}
    if not judgement.healthy:
        ctx.emit(StepFinished(number=6, ok=False, message="Post-deployment validation failed"))
        return update | {"failure": "; ".join(judgement.reasons), "outcome": "validation_failed",
                         "observations": judgement.reasons}
    ctx.emit(StepFinished(number=6, ok=True, message="Post-deployment validation passed"))
    return update | {"observations": improvement_lines(before, after)}
