"""What an investigation takes from runbook's memory: similar past incidents (postmortems, and past
investigations and deployments of the service) and the runbook section to follow, each cited by source.

The lookup (``memory.recall_lookup``) starts with the investigation and runs beside it; this module
builds its queries from the top error signatures and the service, and picks what the answer cites by
fixed rules (similarity floors per embedding model). Memory helps people: a lookup that fails or is
late never fails the investigation, it is reported as "not available (…)".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NamedTuple

from pydantic import BaseModel, Field

from memory.recall import RecallHit
from memory.recall_lookup import RecallLookup, RecallQuery, RecallUnavailable, cite, title

RECALL_WAIT_SECONDS = 3.0  # how long the finished investigation waits for the lookup
TOP_SIGNATURES = 3
_PLACEHOLDER = re.compile(r"request_id=…|<n>|<hex>|<uuid>")
_QUIET_OUTCOMES = ("succeeded", "dry_run", "running")


class Floors(NamedTuple):
    """Cosine similarity a hit needs: to be named "looks like", "possibly related", or a runbook to follow."""

    looks_like: float
    related: float
    runbook: float


# MiniLM scores run higher than the lexical hashing embedding's; unknown models get the stricter ones.
FLOORS = {"minilm": Floors(0.55, 0.45, 0.40), "hashing": Floors(0.30, 0.22, 0.15)}


class Recalled(BaseModel):
    kind: str  # postmortem | investigation | deployment | runbook
    title: str
    cite: str  # "postmortem-checkout-api-1.2.4-oom.md § Root cause", "deployment dep-…"
    score: float
    at: datetime | None = None
    excerpt: list[str] = Field(default_factory=list)  # the section's first lines, as written (runbooks)

    @classmethod
    def of(cls, hit: RecallHit, quote: bool = False) -> Recalled:
        return cls(kind=hit.kind, title=title(hit), cite=cite(hit), score=hit.score, at=hit.at,
                   excerpt=excerpt(hit.text, hit.heading) if quote else [])


def excerpt(text: str, heading: str = "", lines: int = 3, width: int = 160) -> list[str]:
    """The first lines of a section, without its heading: what an answer quotes from a runbook."""
    kept: list[str] = []
    last = heading.split(" > ")[-1].strip().lower()
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or (last and not kept and line.lower().endswith(last)):
            continue
        kept.append(line if len(line) <= width else line[: width - 1] + "…")
        if len(kept) == lines:
            break
    return kept


class RecallFindings(BaseModel):
    status: str = "ok"  # ok | not available (reason)
    looks_like: Recalled | None = None  # the closest postmortem, if close enough
    strength: str = ""  # "Looks like" or "Possibly related"
    runbook: Recalled | None = None  # the runbook section to follow
    seen_before: list[Recalled] = Field(default_factory=list)  # past investigations and deployments


def start(starter: Callable[[], RecallLookup] | None) -> RecallLookup | str:
    """Start the lookup now (the investigation's first step); a reason string if it cannot start."""
    if starter is None:
        return "recall is not configured for this investigation"
    try:
        return starter()
    except Exception as exc:  # noqa: BLE001 - see the module docstring
        return f"{type(exc).__name__}: {exc}"


def close(lookup: RecallLookup | str) -> None:
    if not isinstance(lookup, str):
        lookup.close()


def topic_of(signatures: Sequence[str]) -> list[str]:
    """The top error signatures without their blanked-out ids and numbers."""
    cleaned = [" ".join(_PLACEHOLDER.sub(" ", s).split()).strip(" ,:;") for s in signatures[:TOP_SIGNATURES]]
    return [c for c in cleaned if c]


def queries(service: str, topic: Sequence[str]) -> list[RecallQuery]:
    """Per signature: postmortems (the service named, so its own incidents rank first) and runbooks
    (how to mitigate it); then the service's past investigations and deployments, for all of them."""
    found: list[RecallQuery] = []
    for item in topic:
        found.append(RecallQuery(query=f"{item} ({service})", kinds=["postmortem"], limit=3))
        found.append(RecallQuery(query=f"how to mitigate: {item}", kinds=["runbook"], limit=5))
    found.append(RecallQuery(query=f"{service}: " + "; ".join(topic), kinds=["investigation", "deployment"],
                             service=service, limit=5))
    return found


def send(lookup: RecallLookup | str, service: str, topic: Sequence[str]) -> None:
    """Ask as soon as the top signatures are known (whether they are worth matching is decided later)."""
    if not isinstance(lookup, str) and topic:
        lookup.send(queries(service, topic))


def collect(lookup: RecallLookup | str, topic: Sequence[str], *, incident: bool, since: datetime,
            lined_up: set[str], wait: float) -> RecallFindings | None:
    """What the answer cites; None when there is no incident to match (no alarm, no rise in errors)."""
    if isinstance(lookup, str):
        return RecallFindings(status=f"not available ({lookup})") if incident and topic else None
    if not incident or not topic:
        lookup.close()
        return None
    try:
        results = lookup.result(wait)
    except RecallUnavailable as exc:
        return RecallFindings(status=f"not available ({exc})")
    floors = next((f for name, f in FLOORS.items() if (lookup.model or "").startswith(name)), FLOORS["minilm"])
    return pick(results, floors, since, lined_up)


def pick(results: list[list[RecallHit]], floors: Floors, since: datetime, lined_up: set[str]) -> RecallFindings:
    """The closest postmortem, the runbook section to follow, and the past records worth naming."""
    *per_signature, history = results
    posts = sorted((h for hits in per_signature for h in hits if h.kind == "postmortem"), key=lambda h: -h.score)
    books = [hits for hits in per_signature if hits and hits[0].kind == "runbook"]
    found = RecallFindings()
    if posts and posts[0].score >= floors.related:
        found.looks_like = Recalled.of(posts[0])
        found.strength = "Looks like" if posts[0].score >= floors.looks_like else "Possibly related"
    best = max(books, key=lambda hits: hits[0].score, default=[])
    if best and best[0].score >= floors.runbook:
        # the best-matching runbook, at its Mitigate section when that section matched too
        same = [h for h in best if h.source == best[0].source]
        found.runbook = Recalled.of(next((h for h in same if "mitigat" in h.heading.lower()), best[0]), quote=True)
    for hit in history:
        if hit.score < floors.related or (hit.at is not None and hit.at >= since):
            continue
        if hit.kind == "deployment" and (hit.deployment_id in lined_up or _outcome(hit) in _QUIET_OUTCOMES):
            continue
        found.seen_before.append(Recalled.of(hit))
    found.seen_before = found.seen_before[:2]
    return found


def _outcome(hit: RecallHit) -> str:
    """A deployment hit's outcome: its heading ends with it, "(validation_failed)"."""
    return hit.heading.rsplit("(", 1)[-1].rstrip(")") if hit.heading.endswith(")") else ""


def answer_lines(found: RecallFindings | None) -> list[str]:
    if found is None:
        return []
    if found.status != "ok":
        return [f"Similar incidents: {found.status}."]
    parts = []
    if found.looks_like is not None:
        parts.append(f"{found.strength}: postmortem '{found.looks_like.title}' ({found.looks_like.cite})")
    if found.runbook is not None:
        parts.append(f"runbook: {found.runbook.cite}" if parts else f"Runbook: {found.runbook.cite}")
    lines = ["; ".join(parts) + "."] if parts else []
    if found.runbook is not None and found.runbook.excerpt:
        lines.append(f"{found.runbook.cite} says:")
        lines += [f"  > {line}" for line in found.runbook.excerpt]
    if found.seen_before:
        lines.append("Seen before: " + "; ".join(
            f"{r.cite} ({r.at:%Y-%m-%d %H:%M} UTC, {r.title})" if r.at else f"{r.cite} ({r.title})"
            for r in found.seen_before) + ".")
    return lines or ["Similar incidents: none found in the runbooks, postmortems or the scratchpad."]


def evidence(found: RecallFindings | None) -> list[str]:
    if found is None:
        return []
    if found.status != "ok":
        return [f"recall: {found.status}"]
    cited = [r.cite for r in (found.looks_like, found.runbook) if r is not None]
    cited += [r.cite for r in found.seen_before]
    return [f"recall: {', '.join(cited) or 'nothing similar'}"]
