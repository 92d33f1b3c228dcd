"""The canary's judgement inside a deploy: planned at the end of the health checks, then fed by the canary
step's observation and by the approval wait, one cumulative comparison from start to decision.

What is checkpointed (`DeployState["canary_plan"]`) is only the plan: when judging started, the stable's
pre-deploy p99 that defines "slow", and the detectors' horizon. The evidence itself is recomputed from the
metrics backend over the whole window when a resumed deploy first looks again (one read), then read
incrementally; the same periods give the same data, so the verdict carries on where it was.
"""

from __future__ import annotations

import math
from datetime import datetime

from skills.deploy.context import DeployContext, DeployState
from skills.deploy.evidence import CanaryPlan, CanaryWatch, reference_p99
from skills.deploy.judge import Judgement, fmt_ms, fmt_percent, judge_canary, verdict_lines
from skills.deploy.sequential import DECISION_SHARES
from skills.events import MetricsObserved

PERIOD_SECONDS = 10
HORIZON_MARGIN_SECONDS = 600  # beyond expiry, for settle waits and a slow poll


def new_plan(ctx: DeployContext, state: DeployState) -> CanaryPlan:
    """Judging starts now; "slow" is slower than the stable's p99 over the window before the deploy."""
    limits, policy = ctx.thresholds, ctx.env.approval
    deploy_start = datetime.fromisoformat(state["started_at"])
    reference = reference_p99(ctx.backend.metrics, ctx.target, state.get("from_version"), deploy_start,
                              limits.validation_seconds)
    settle = ctx.backend.metrics.settle_seconds(ctx.target)
    horizon = limits.canary_observation_seconds + settle + HORIZON_MARGIN_SECONDS
    if policy.required:
        horizon += policy.expires_after_seconds
    return CanaryPlan(since=ctx.now(), reference_ms=None if reference is None else round(reference, 1),
                      horizon_points=math.ceil(horizon / PERIOD_SECONDS), period_seconds=PERIOD_SECONDS)


def open_watch(ctx: DeployContext, plan: CanaryPlan, stable_version: str) -> CanaryWatch:
    limits = ctx.thresholds
    alpha = ctx.config.judge.alpha * DECISION_SHARES["canary"]
    return CanaryWatch(ctx.backend.metrics, ctx.target, ctx.request.version, stable_version, plan,
                       alpha, limits.error_rate_percent, limits.p99_latency_ms)


def judge_now(ctx: DeployContext, watch: CanaryWatch, healthy: bool) -> Judgement:
    """Read what is new, then judge everything so far, with the canary tasks' health as read a moment ago."""
    watch.update(ctx.now())
    return judge_canary(watch.evidence, ctx.thresholds, healthy, relative=ctx.request.kind != "rollback")


def observed_event(phase: str, judgement: Judgement, watch: CanaryWatch, window_seconds: float,
                   final: bool) -> MetricsObserved:
    return MetricsObserved(
        phase=phase, elapsed_seconds=watch.observed_seconds, window_seconds=window_seconds,  # type: ignore[arg-type]
        readings=judgement.readings, final=final, verdict=judgement.verdict, more=judgement.more,
        canary_requests=judgement.canary_requests,
    )


def summary_lines(judgement: Judgement, observed_seconds: float) -> list[str]:
    """What the approval request says about the canary: one line per reading, then the verdict."""
    lines = []
    for reading in judgement.readings:
        mark = "✓" if reading.ok else ("✗" if reading.ok is False else "?")
        if reading.unit == "%":
            lines.append(f"Error rate: {fmt_percent(reading.value)} (threshold: {fmt_percent(reading.threshold)},"
                         f" stable: {fmt_percent(reading.baseline)}) {mark}")
        elif reading.unit == "ms":
            lines.append(f"Latency p99: {fmt_ms(reading.value)} (threshold: {fmt_ms(reading.threshold)}) {mark}")
        else:
            lines.append(f"Health checks: {reading.verdict} {mark}")
    return lines + verdict_lines(judgement, observed_seconds)
