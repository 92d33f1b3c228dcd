"""What the deploy takes from runbook's semantic memory: the service's deploy runbook, as a hint in the
pre-checks. Best effort: memory helps people, so a broken or slow index never fails or blocks a deploy.

The lookup runs beside the deploy (`memory.recall_lookup`, a child process), so chromadb and the
embedding model never load into the deploy's own process; it starts with the pre-checks and is shown
when they end if it is back, else with the approval request (nothing waits for it before that). The
deploy is indexed later, from the scratchpad, by the next lookup that syncs it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from memory.recall_lookup import RecallLookup, RecallQuery, RecallUnavailable, recall_with
from skills.deploy.context import DeployContext
from skills.events import CheckPassed, Progress

log = logging.getLogger(__name__)


def start_deploy_runbook_lookup(ctx: DeployContext) -> RecallLookup | None:
    """Look up the service's deploy runbook in the background; None when recall cannot start."""
    query = RecallQuery(query=f"how to deploy {ctx.target.key}: deploy runbook, pre-checks, rollout, rollback",
                        kinds=["runbook"], service=ctx.target.key, limit=5)
    try:
        return recall_with(ctx.resources.recall_settings, [query])
    except Exception:  # noqa: BLE001 - see the module docstring
        return None


def show_deploy_runbook(ctx: DeployContext, wait: float) -> None:
    """Point the person at the service's deploy runbook, when the team wrote one and the lookup is back
    within `wait` seconds; a lookup not back yet stays for a later step (the approval request)."""
    lookup = ctx.runbook_hint
    if lookup is None:
        return
    if wait <= 0 and not lookup.ready():
        return
    ctx.runbook_hint = None
    try:
        [hits] = lookup.result(wait)
    except (RecallUnavailable, ValueError) as exc:
        log.info("no deploy runbook hint: %s", exc)
        return
    hit = next((h for h in hits if "deploy" in f"{h.title} {h.heading}".lower()), None)
    if hit is None:
        return
    ctx.emit(Progress(message="Looking up the deploy runbook..."))
    ctx.emit(CheckPassed(check="deploy_runbook", message=f"Deploy runbook: {Path(hit.source).name}",
                         details=[f"§ {hit.heading}", f"runbook knowledge search 'deploy {ctx.target.key}' shows it"]))
