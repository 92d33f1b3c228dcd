"""Step 3: the canary. A new revision takes a slice of traffic and is judged on live metrics."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta

from memory.outcome import Outcome
from skills.deploy.context import DeployContext, DeployState
from skills.deploy.judge import Judgement, evaluate_canary, fmt_ms, fmt_percent
from skills.events import (
    CanaryJudged,
    CheckFailed,
    CheckPassed,
    HealthCheckResult,
    MetricsObserved,
    Progress,
    StepFinished,
    StepStarted,
)
from tools.backend import BackendError
from tools.models import Image, TaskDefinition
from tools.task_definitions import digest_of, pin_image

OBSERVATION_TICK_SECONDS = 10
HEALTH_RECHECK_SECONDS = 60.0


def canary_task_count(desired: int, percent: float) -> int:
    return max(1, math.ceil(desired * percent / 100 - 1e-9))


def judge_window(ctx: DeployContext, stable_version: str, start: datetime, end: datetime,
                 healthy: bool | None = None) -> Judgement:
    """The canary's version against the stable version over the same window (`healthy`: the canary tasks'
    health as read a moment ago; None reads it now)."""
    target, metrics = ctx.target, ctx.backend.metrics
    canary, stable = metrics.observe_versions(target, [ctx.request.version, stable_version], start, end)
    if healthy is None:
        healthy = canary_healthy(ctx)
    return evaluate_canary(canary, stable, ctx.thresholds, healthy)


def canary_healthy(ctx: DeployContext) -> bool:
    tasks = ctx.backend.platform.canary_tasks(ctx.target, ctx.request.deployment_id)
    return bool(tasks) and all(t.status == "RUNNING" and t.health == "HEALTHY" for t in tasks)


class HealthEvery:
    """A health reading taken at most every HEALTH_RECHECK_SECONDS of clock time, and always for a final one: a
    load balancer marks a target unhealthy only after its unhealthy threshold × interval (60 s by default),
    so reading it on every 10 s metrics tick costs calls and shows nothing sooner."""

    def __init__(self, ctx: DeployContext, read: Callable[[], bool]) -> None:
        self.ctx, self.read = ctx, read
        self.at: datetime | None = None
        self.last = False

    def __call__(self, final: bool = False) -> bool:
        now = self.ctx.backend.clock.now()
        if final or self.at is None or (now - self.at).total_seconds() >= HEALTH_RECHECK_SECONDS:
            self.at, self.last = now, self.read()
        return self.last


def summary_lines(judgement: Judgement) -> list[str]:
    """One line per reading, as the approval request shows them."""
    lines = []
    for reading in judgement.readings:
        mark = "✓" if reading.ok else ("✗" if reading.ok is False else "?")
        if reading.unit == "%":
            lines.append(f"Error rate: {fmt_percent(reading.value)} (threshold: {fmt_percent(reading.threshold)}) {mark}")
        elif reading.unit == "ms":
            lines.append(f"Latency p99: {fmt_ms(reading.value)} (threshold: {fmt_ms(reading.threshold)}) {mark}")
        else:
            lines.append(f"Health checks: {reading.verdict} {mark}")
    return lines


def run_canary(ctx: DeployContext, state: DeployState, total_steps: int) -> DeployState:
    target, platform, clock, limits = ctx.target, ctx.backend.platform, ctx.backend.clock, ctx.thresholds
    percent = f"{limits.canary_percent:g}%"
    ctx.emit(StepStarted(number=3, total=total_steps, title=f"Canary Deployment ({percent})"))

    def fail(message: str, reasons: list[str] | None = None) -> DeployState:
        ctx.emit(StepFinished(number=3, ok=False, message=message))
        return {"failure": message, "observations": reasons or [], "outcome": Outcome.CANARY_FAILED}

    ctx.emit(Progress(message="Creating new task definition..."))
    # A deploy resumed after its process died runs this step again from the top: the revision it
    # registered is in its record, and a canary of that version is the one it started.
    record = ctx.store.get_deployment(ctx.request.deployment_id)
    rerun = record.to_revision if record is not None else None
    image = Image.model_validate(state["image"])
    try:
        if rerun:
            new_td: TaskDefinition = platform.task_definition(target, rerun)
        else:
            base = platform.task_definition(target, int(state.get("base_revision") or state["from_revision"]))  # type: ignore[arg-type]
            if ctx.request.task_definition:  # the team's task-definition file, its image pinned
                pinned = pin_image(ctx.request.task_definition, target.config.container, image.pinned)
                new_td = platform.register_definition(target, base, pinned)
            else:
                new_td = platform.register_revision(target, base, image)
            ctx.store.update_deployment(ctx.request.deployment_id, to_revision=new_td.revision)
    except BackendError as exc:
        ctx.emit(CheckFailed(check="task_definition", message=str(exc)))
        return fail("Could not register the new task definition")
    if digest_of(new_td.image or "") != image.digest:  # what the approval will name is what runs
        ctx.emit(CheckFailed(check="task_definition", message=f"The new revision {new_td.ref} runs {new_td.image},"
                             f" not the checked image {image.pinned}"))
        return fail("The new task definition does not pin the checked image")
    ctx.emit(CheckPassed(check="task_definition",
                         message=f"Task definition: {new_td.ref}" + (" (registered before the restart)" if rerun else ""),
                         details=[f"Image pinned: {new_td.image}"]))
    update: DeployState = {"to_revision": new_td.revision}

    count = canary_task_count(state["desired"], limits.canary_percent)
    running = platform.canary_tasks(target, ctx.request.deployment_id) if rerun else []
    update["canary_started"] = True  # set before the call: a half-started canary is still removed
    if running and all(t.version == new_td.version for t in running):
        ctx.emit(Progress(message=f"Canary already running ({len(running)} of {state['desired']} tasks)..."))
    else:
        ctx.emit(Progress(message=f"Deploying canary ({count} of {state['desired']} tasks)..."))
        try:
            platform.start_canary(target, ctx.request.deployment_id, new_td, count)
        except BackendError as exc:
            ctx.emit(CheckFailed(check="canary_started", message=str(exc)))
            return update | fail("Canary could not start")
    ctx.emit(Progress(message="Waiting for task to start..."))
    for _ in range(30):
        tasks = platform.canary_tasks(target, ctx.request.deployment_id)
        if tasks and all(t.status == "RUNNING" for t in tasks):
            break
        clock.sleep(10)
    else:
        why = platform.explain_failure(target, ctx.request.deployment_id)  # e.g. CannotPullContainerError
        ctx.emit(CheckFailed(check="canary_started", message="Canary tasks did not reach RUNNING within 5 minutes",
                             details=why))
        return update | fail("Canary did not start", ["Canary tasks did not reach RUNNING within 5 minutes", *why])
    ctx.emit(CheckPassed(check="canary_started", message=f"Task running: {', '.join(t.task_id for t in tasks)}"))

    interval = (new_td.health_check.interval_seconds if new_td.health_check else target.config.health_check.interval_seconds)
    # The first check waits out the grace and start periods and the load balancer's healthy threshold; a task
    # not judged yet (UNKNOWN: its target still `initial`) is looked at again, for at most as long once more.
    first = max(platform.canary_warmup_seconds(target, new_td), interval)
    ctx.emit(Progress(message="Performing health checks..." + (f" (the first after {first:g}s)" if first > interval else "")))
    index, waited, patience = 1, 0.0, 2 * first + limits.health_checks * interval
    while index <= limits.health_checks:
        pause = first if waited == 0 else interval
        clock.sleep(pause)
        waited += pause
        ctx.keep_lock()
        tasks = platform.canary_tasks(target, ctx.request.deployment_id)
        unhealthy = [t.task_id for t in tasks if t.health == "UNHEALTHY" or t.status != "RUNNING"]
        pending = [t.task_id for t in tasks if t.health == "UNKNOWN" and t.status == "RUNNING"]
        if tasks and pending and not unhealthy and waited < patience:
            ctx.emit(Progress(message=f"Not judged yet: {', '.join(pending)} (health checks still starting)..."))
            continue
        bad = unhealthy + pending
        ctx.emit(HealthCheckResult(index=index, total=limits.health_checks, healthy=not bad and bool(tasks),
                                   detail=", ".join(bad)))
        if bad or not tasks:
            why = platform.explain_failure(target, ctx.request.deployment_id)
            found = (f"Canary task unhealthy: {', '.join(unhealthy)}" if unhealthy or not tasks
                     else f"Canary task not judged healthy after {waited:g}s: {', '.join(pending)}")
            return update | fail("Canary failed its health checks", [found, *why])
        index += 1

    window = limits.canary_observation_seconds
    settle = ctx.backend.metrics.settle_seconds(target)  # ticks before it has passed may show partial data
    ctx.emit(Progress(message=f"Observing metrics ({window}s)..."))
    start = clock.now()
    elapsed = 0
    health = HealthEvery(ctx, lambda: canary_healthy(ctx))
    while elapsed < window:
        step = min(OBSERVATION_TICK_SECONDS, window - elapsed)
        clock.sleep(step)
        elapsed += step
        ctx.keep_lock()
        last = elapsed >= window and settle <= 0
        judgement = judge_window(ctx, state["from_version"] or "", start, start + timedelta(seconds=elapsed),
                                 health(final=last))
        ctx.emit(MetricsObserved(phase="canary", elapsed_seconds=elapsed, window_seconds=window,
                                 readings=judgement.readings, final=elapsed >= window and settle <= 0))
    if settle > 0:  # the same window again, once its data is complete
        ctx.emit(Progress(message=f"Waiting {settle:g}s for metrics to settle..."))
        clock.sleep(settle)
        judgement = judge_window(ctx, state["from_version"] or "", start, start + timedelta(seconds=window),
                                 health(final=True))
        ctx.emit(MetricsObserved(phase="canary", elapsed_seconds=window, window_seconds=window,
                                 readings=judgement.readings, final=True))
    ctx.emit(CanaryJudged(verdict=judgement.verdict, reasons=judgement.reasons, observed_seconds=window))
    if not judgement.healthy:
        return update | fail(f"Canary {judgement.verdict} after {window}s observation", judgement.reasons)
    ctx.emit(StepFinished(number=3, ok=True, message=f"Canary healthy after {window}s observation"))
    return update | {"canary_summary": summary_lines(judgement)}


def remove_canary(ctx: DeployContext) -> None:
    ctx.emit(Progress(message="Removing canary..."))
    ctx.backend.platform.remove_canary(ctx.target, ctx.request.deployment_id)
    ctx.emit(CheckPassed(check="canary_removed", message="Canary removed"))
