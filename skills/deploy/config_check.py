"""Step 2: validate the configuration the new version will run with."""

from __future__ import annotations

from memory.outcome import Outcome
from skills.deploy.context import DeployContext, DeployState
from skills.deploy.definitions import definition_changes
from skills.events import (
    CheckFailed,
    CheckPassed,
    ConfigChange,
    Progress,
    StepFinished,
    StepStarted,
    TaskDefinitionDiff,
)
from tools.models import Image, TaskDefinition
from tools.task_definitions import to_model


def task_definition_changes(current: TaskDefinition, new_version: str) -> list[ConfigChange]:
    """The diff a deploy makes: only the image changes; the rest is copied from the running revision."""
    return [
        ConfigChange(field="Image", before=current.version, after=new_version),
        ConfigChange(field="Memory", before=f"{current.memory_mb} MB", after=f"{current.memory_mb} MB"),
        ConfigChange(field="CPU", before=f"{current.cpu} units", after=f"{current.cpu} units"),
        ConfigChange(field="Environment", before="", after=""),
    ]


def run_config_validation(ctx: DeployContext, state: DeployState, total_steps: int) -> DeployState:
    target, backend = ctx.target, ctx.backend
    ctx.emit(StepStarted(number=2, total=total_steps, title="Validate Configuration"))
    failures: list[str] = []

    def fail(check: str, message: str, details: list[str] | None = None) -> None:
        failures.append(message)
        ctx.emit(CheckFailed(check=check, message=message, details=details or []))

    ctx.emit(Progress(message="Comparing configurations..."))
    current = backend.platform.task_definition(target, int(state["from_revision"]))  # type: ignore[arg-type]
    image = Image.model_validate(state["image"])
    definition = ctx.request.task_definition
    # What the new revision will be: the running one with the new image, or the team's task-definition file.
    new = to_model(definition, target.config.container) if definition else current
    if definition:
        changes = definition_changes(current, new)
        ctx.emit(TaskDefinitionDiff(changes=changes))
        if new.family != current.family:
            fail("task_definition", f"{ctx.request.task_definition_file} has family {new.family}, but {target.key}"
                                    f" runs family {current.family}; runbook deploys new revisions of the same family.")
        elif not any(c.changed for c in changes):
            fail("task_definition", f"{ctx.request.task_definition_file} is the revision {target.key} runs"
                                    f" ({current.ref}); nothing to deploy.")
    elif state.get("base_revision"):  # a rollback: the configuration its version ran with comes back too
        new = backend.platform.task_definition(target, int(state["base_revision"]))  # type: ignore[arg-type]
        changes = definition_changes(current, new.model_copy(update={"version": image.tag}))
        ctx.emit(TaskDefinitionDiff(changes=changes))
    else:
        changes = task_definition_changes(current, image.tag)
        ctx.emit(TaskDefinitionDiff(changes=changes))
    where = (ctx.request.task_definition_file if definition
             else f"The task definition {new.ref}" if new is not current else f"The task definition {current.ref}")

    ctx.emit(Progress(message="Checking environment variables..."))
    available = set(new.environment) | set(new.secrets)
    missing = [name for name in target.config.required_env if name not in available]
    if missing:
        fail("required_env", f"Missing required env vars: {', '.join(missing)}",
             [f"{where} does not set them."])
    else:
        ctx.emit(CheckPassed(check="required_env", message="All required env vars present"))

    ctx.emit(Progress(message="Checking secrets..."))
    unreadable = [
        check for check in (backend.secrets.check_readable(name, ref) for name, ref in sorted(new.secrets.items()))
        if not check.readable
    ]
    if unreadable:
        fail("secrets", f"{len(unreadable)} secret{'s' if len(unreadable) > 1 else ''} not readable",
             [f"{c.name} ({c.reference}): {c.reason or 'access denied'}" for c in unreadable])
    else:
        count = len(new.secrets)
        ctx.emit(CheckPassed(check="secrets", message="All secrets accessible",
                             details=[f"{count} secret{'s' if count != 1 else ''} checked; values never read into runbook"]))

    ctx.emit(Progress(message="Checking health check..."))
    health = backend.platform.load_balancer_health_check(target) or new.health_check
    if health is None or not (health.path or health.command):
        fail("health_check", f"No health check configured for {target.key}: the canary cannot be judged without one.")
    else:
        endpoint = health.path or " ".join(health.command)
        ctx.emit(CheckPassed(
            check="health_check",
            message=f"Health check endpoint: {endpoint}",
            details=[f"Protocol: {health.protocol}", f"Interval: {health.interval_seconds}s"],
        ))

    for problem in backend.metrics.preflight(target):
        fail("canary_metrics", problem)

    if failures:
        ctx.emit(StepFinished(number=2, ok=False, message="Configuration invalid"))
        return {"failure": failures[0], "outcome": Outcome.CONFIG_INVALID}
    ctx.emit(StepFinished(number=2, ok=True, message="Configuration validated"))
    changed = [f"{c.field}: {c.before or '(none)'} → {c.after or '(none)'}" for c in changes if c.changed]
    return {"changes": changed + (["No config changes"] if len(changed) <= 1 and new is current else [])}
