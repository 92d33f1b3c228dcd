"""What the deploy takes from, and gives to, runbook's semantic memory. Both are best effort:
memory helps people, so a broken index never fails or blocks a deploy."""

from __future__ import annotations

from pathlib import Path

from skills.deploy.context import DeployContext
from skills.events import CheckPassed, Progress


def _options(ctx: DeployContext) -> dict[str, str | None]:
    knowledge = ctx.config.knowledge
    return {"folder": knowledge.folder, "embedding": knowledge.embedding, "vocab_path": knowledge.vocab_path}


def show_deploy_runbook(ctx: DeployContext) -> None:
    """Point the person at the service's deploy runbook, when the team wrote one."""
    from memory.recall import deploy_runbook_hint

    try:
        hit = deploy_runbook_hint(ctx.target.key, state_dir=ctx.state_dir, **_options(ctx))  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - see the module docstring
        return
    if hit is None:
        return
    ctx.emit(Progress(message="Looking up the deploy runbook..."))
    ctx.emit(CheckPassed(check="deploy_runbook", message=f"Deploy runbook: {Path(hit.source).name}",
                         details=[f"§ {hit.heading}", f"runbook knowledge search 'deploy {ctx.target.key}' shows it"]))


def remember_deployment(ctx: DeployContext) -> None:
    """Index the finished deployment's summary so "what happened last time?" finds it."""
    from memory.recall import Recall

    record = ctx.store.get_deployment(ctx.request.deployment_id)
    if record is None:
        return
    try:
        options = _options(ctx)
        Recall.in_state_dir(ctx.state_dir, embedding=options["embedding"],
                            vocab_path=options["vocab_path"]).index_deployment(record)
    except Exception:  # noqa: BLE001 - see the module docstring
        return
