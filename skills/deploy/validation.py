"""Step 6: post-deployment validation — the whole service after the rollout against before the deploy.

Its own comparison (not the canary's): the after window's n-th period is paired with the n-th period of
the same-length window before the deploy, and the pairs go through the same anytime-valid tests as the
canary (after in the canary's place). A rollback returns to a version known before, which may well be
worse than the one it leaves: it is held to the absolute thresholds only.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from memory.outcome import Outcome
from skills.deploy.canary import HealthEvery
from skills.deploy.context import DeployContext, DeployState
from skills.deploy.evidence import Evidence, reference_p99
from skills.deploy.judge import Judgement, evaluate_validation, improvement_lines
from skills.deploy.sequential import DECISION_SHARES
from skills.events import MetricsObserved, Progress, StepFinished, StepStarted
from tools.models import MetricWindow

TICK_SECONDS = 30
PERIOD_SECONDS = 10


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
    old, new = state.get("from_version"), ctx.request.version
    reference = (state.get("canary_plan") or {}).get("reference_ms")
    if reference is None:
        reference = reference_p99(metrics, target, old, deploy_start, window)
    alpha = ctx.config.judge.alpha * DECISION_SHARES["validation"]
    evidence = Evidence.start(alpha, math.ceil(window / PERIOD_SECONDS), limits.error_rate_percent,
                              limits.p99_latency_ms, reference)
    thresholds = evidence.thresholds_ms
    before = metrics.observe(target, old, deploy_start - timedelta(seconds=window), deploy_start, PERIOD_SECONDS,
                             thresholds)
    start = clock.now()
    through = start
    settle = metrics.settle_seconds(target)  # ticks before it has passed may show partial data

    def all_healthy() -> bool:
        service = ctx.backend.platform.describe_service(target)
        return service.healthy_tasks >= service.desired

    health = HealthEvery(ctx, all_healthy)

    def read(now: datetime) -> None:
        nonlocal through
        end = min(now - timedelta(seconds=settle), start + timedelta(seconds=window))
        if (end - through).total_seconds() < PERIOD_SECONDS:
            return
        after = metrics.observe(target, new, through, end, PERIOD_SECONDS, thresholds)
        period = after.period_seconds or PERIOD_SECONDS
        for point in after.points:
            if point.timestamp < through:
                continue
            if point.timestamp + timedelta(seconds=period) > end:
                break
            paired = before.points[evidence.points] if evidence.points < len(before.points) else None
            evidence.add(point, paired, period)
            through = point.timestamp + timedelta(seconds=period)

    def judge(final: bool) -> Judgement:
        read(clock.now())
        return evaluate_validation(evidence, limits, health(final=final), before.requests_per_minute,
                                   relative=ctx.request.kind != "rollback")

    def show(judgement: Judgement, seconds: int, final: bool) -> None:
        ctx.emit(MetricsObserved(phase="validation", elapsed_seconds=seconds, window_seconds=window,
                                 readings=judgement.readings, final=final, verdict=judgement.verdict))

    elapsed = 0
    while elapsed < window:
        step = min(TICK_SECONDS, window - elapsed)
        clock.sleep(step)
        elapsed += step
        ctx.keep_lock()
        final = elapsed >= window and settle <= 0
        judgement = judge(final)
        show(judgement, elapsed, final)
    if settle > 0:  # the same window again, once its data is complete
        ctx.emit(Progress(message=f"Waiting {settle:g}s for metrics to settle..."))
        clock.sleep(settle)
        judgement = judge(True)
        show(judgement, window, True)
    after = metrics.observe(target, new, start, start + timedelta(seconds=window))
    update: DeployState = {"metrics_before": snapshot(before), "metrics_after": snapshot(after)}
    if not judgement.healthy:
        ctx.emit(StepFinished(number=6, ok=False, message="Post-deployment validation failed"))
        return update | {"failure": "; ".join(judgement.reasons), "outcome": Outcome.LEFT_RUNNING,
                         "observations": judgement.reasons}
    ctx.emit(StepFinished(number=6, ok=True, message="Post-deployment validation passed"))
    return update | {"observations": improvement_lines(before, after)}
