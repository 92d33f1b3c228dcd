"""Step 3: the canary. A new revision takes a slice of traffic and is judged on live metrics.

The observation here is the first look of one cumulative judgement (see `canary_watch`): an unhealthy
canary fails at once; a healthy or inconclusive one goes on to the approval, whose wait keeps judging.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

from memory.outcome import Outcome
from skills.deploy.canary_watch import judge_now, new_plan, observed_event, open_watch, summary_lines
from skills.deploy.context import DeployContext, DeployState
from skills.deploy.judge import no_data
from skills.events import (
    CanaryJudged,
    CheckFailed,
    CheckPassed,
    HealthCheckResult,
    Progress,
    StepFinished,
    StepStarted,
    more_sentences,
)
from tools.backend import BackendError
from tools.models import Image, TaskDefinition
from tools.task_definitions import digest_of, pin_image

OBSERVATION_TICK_SECONDS = 10
HEALTH_RECHECK_SECONDS = 60.0


def canary_task_count(desired: int, percent: float) -> int:
    return max(1, math.ceil(desired * percent / 100 - 1e-9))


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


def task_share(canary: int, stable: int, weighted_percent: float | None = None) -> str:
    """"1 of 11 tasks, ~9% of traffic": the canary runs beside the stable tasks, which all stay, and gets
    its share of the traffic by task count (or, behind a weighted listener, the weight it is given)."""
    total = canary + stable
    if not total:
        return f"{canary} tasks"
    share = weighted_percent if weighted_percent is not None else 100 * canary / total
    return f"{canary} of {total} tasks, ~{share:.0f}% of traffic"


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
            base = platform.task_definition(target, int(state["from_revision"]))  # type: ignore[arg-type]
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
    ecs = target.config.ecs  # behind a weighted listener the canary gets canary_percent, whatever its tasks
    weighted = ctx.backend.name == "ecs" and bool(ecs.canary_target_group_arn and (ecs.listener_arn or ecs.listener_rule_arn))
    weight = round(limits.canary_percent) if weighted else None
    update["canary_started"] = True  # set before the call: a half-started canary is still removed
    if running and all(t.version == new_td.version for t in running):
        ctx.emit(Progress(message=f"Canary already running ({task_share(len(running), state['desired'], weight)})..."))
    else:
        ctx.emit(Progress(message=f"Deploying canary ({task_share(count, state['desired'], weight)})..."))
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
    plan = new_plan(ctx, state)
    watch = open_watch(ctx, plan, state["from_version"] or "")
    update["canary_plan"] = plan.to_json()
    ctx.emit(Progress(message=f"Observing metrics ({window}s)..."))
    elapsed = 0
    health = HealthEvery(ctx, lambda: canary_healthy(ctx))
    health = HealthEvery(ctx, lambda: canary_healthy(ctx))
    while elapsed < window:
        step = min(OBSERVATION_TICK_SECONDS, window - elapsed)
        clock.sleep(step)
        elapsed += step
        ctx.keep_lock()
        judgement = judge_now(ctx, watch, health(final=elapsed >= window and settle <= 0))
        done = judgement.verdict == "unhealthy" or elapsed >= window
        event = observed_event("canary", judgement, watch, window, done and settle <= 0)
        event.elapsed_seconds = elapsed
        ctx.emit(event)
        if judgement.verdict == "unhealthy":
            break  # the test is valid whenever it is read: no need to watch a failing canary longer
    if settle > 0 and judgement.verdict != "unhealthy":  # the same window again, once its data is complete
        ctx.emit(Progress(message=f"Waiting {settle:g}s for metrics to settle..."))
        clock.sleep(settle)
        judgement = judge_now(ctx, watch, health(final=True))
        event = observed_event("canary", judgement, watch, window, True)
        event.elapsed_seconds = window
        ctx.emit(event)
    if judgement.verdict != "unhealthy" and judgement.canary_requests < limits.min_requests:
        judgement = no_data(judgement, watch.observed_seconds, limits)
    ctx.emit(CanaryJudged(verdict=judgement.verdict, reasons=judgement.reasons, observed_seconds=elapsed,
                          more=judgement.more, canary_requests=judgement.canary_requests,
                          alpha=watch.evidence.comparison.alpha))
    if judgement.verdict == "unhealthy" or judgement.reasons:
        return update | fail(f"Canary {judgement.verdict} after {elapsed}s observation", judgement.reasons)
    update |= {"canary_summary": summary_lines(judgement, watch.observed_seconds),
               "canary_verdict": judgement.verdict,
               "canary_more": [m.model_dump() for m in judgement.more]}
    if judgement.healthy:
        ctx.emit(StepFinished(number=3, ok=True, message=f"Canary healthy after {window}s observation"))
    elif ctx.env.approval.required:
        ctx.emit(StepFinished(number=3, ok=True, message=(
            f"Canary not shown unhealthy after {window}s (inconclusive); it stays under judgement while"
            " waiting for approval")))
    else:
        ctx.emit(StepFinished(number=3, ok=True, message=(
            f"Canary not shown unhealthy after {window}s (inconclusive); {ctx.request.environment} needs no"
            " approval, so the rollout goes ahead")))
        update["observations"] = ["Rolled out with an inconclusive canary (no approval required)"] + \
            more_sentences(judgement.more)[:1]
    return update


def remove_canary(ctx: DeployContext) -> None:
    ctx.emit(Progress(message="Removing canary..."))
    ctx.backend.platform.remove_canary(ctx.target, ctx.request.deployment_id)
    ctx.emit(CheckPassed(check="canary_removed", message="Canary removed"))
