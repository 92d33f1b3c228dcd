"""The agent's `recall` tool, and the recall lookups the agent's tools start.

Every lookup runs beside the agent (``memory.recall_lookup``, in a child process), so chromadb and the
model never load into the agent's own process; a request that is likely to recall starts one early
(``Toolbox.start_recall_early``) and the first tool that recalls takes it (``Toolbox.recall``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agent.toolkit import Toolbox, ToolResult
from memory.recall import RecallHit
from memory.recall_lookup import (
    RecallLookup,
    RecallQuery,
    RecallUnavailable,
    cite,
    recall_with,
    title,
)
from memory.recall_settings import RecallSettings

if TYPE_CHECKING:
    from agent.tools import RecallArgs

RECALL_TOOL_WAIT_SECONDS = 30.0  # the first lookup ever indexes the knowledge folder: give it time
_KIND_NAMES = {"runbook": "runbooks", "postmortem": "postmortems", "deployment": "deployments",
               "investigation": "investigations"}


def prestart(settings: RecallSettings) -> RecallLookup | None:
    """Start a lookup now, for a request that will recall; None if it cannot start (tools start their own)."""
    try:
        return recall_with(settings)
    except Exception:  # noqa: BLE001 - an early start is an optimisation, never a failure
        return None


def run_recall(box: Toolbox, args: RecallArgs) -> ToolResult:
    if args.service:
        box.config.service(args.service)  # an unknown service is the asker's mistake, said plainly
    query = RecallQuery(query=args.query, kinds=list(args.kinds) if args.kinds else None, service=args.service,
                        limit=args.limit)
    try:
        lookup = box.recall()
    except RecallUnavailable as exc:
        return ToolResult.failed("recall", f"Recall is not available: {exc}.")
    lookup.send([query])
    try:
        [hits] = lookup.result(RECALL_TOOL_WAIT_SECONDS)
    except RecallUnavailable as exc:
        return ToolResult.failed("recall", f"Recall is not available: {exc}.")
    what = " and ".join(_KIND_NAMES[k] for k in args.kinds) if args.kinds else "runbooks, postmortems and history"
    scope = f"{what}{f' of {args.service}' if args.service else ''}"
    if not hits:
        return ToolResult(tool="recall", ok=True, status="no_data", data={"query": args.query, "results": []},
                          text=f"Nothing found in the {scope} for \"{args.query}\".")
    lines = [f"Recalled from the {scope} for \"{args.query}\":"]
    lines += [line for number, hit in enumerate(hits, 1) for line in _lines(number, hit)]
    return ToolResult(tool="recall", ok=True, text="\n".join(lines),
                      data={"query": args.query, "results": [_data(hit) for hit in hits]})


def _lines(number: int, hit: RecallHit) -> list[str]:
    when = f", {hit.at:%Y-%m-%d %H:%M} UTC" if hit.at else ""
    named = f"{hit.kind} '{title(hit)}' — " if hit.kind in ("runbook", "postmortem") else ""
    snippet = " ".join(hit.text.split())
    return [f"{number}. {named}{cite(hit)}{when} (similarity {hit.score:.2f})",
            f"   {snippet[:200]}{'…' if len(snippet) > 200 else ''}"]


def _data(hit: RecallHit) -> dict[str, object]:
    return {"kind": hit.kind, "title": title(hit), "cite": cite(hit), "score": hit.score, "service": hit.service,
            "at": hit.at.isoformat() if hit.at else None, "deployment_id": hit.deployment_id,
            "investigation_id": hit.investigation_id, "untrusted_text": hit.text}
