"""The offline intent router: understands requests as people write them, without a model, and produces
the same tool calls the model would (the catalogue's names and argument models, `agent.tools`).
Deterministic; the asker's words only (plus the session's last routing, for follow-ups).

    route("deploy checkout 1.2.4 to prod", config)  -> Intent(tool="request_deploy", args={...})
    route("deploy checkout", config)                -> Clarify(clarify="missing_version", ...)
    route("approve dep-42", config)                 -> Refuse(...)
    route("status and then deploy ...", config)     -> Compound(parts=[status, deploy])

Order of decisions: talk and gate-dodging first (they never reach a tool), then a confirmation of a
change proposed earlier, then what no capability does, then each part of the request on its own
(`router_clause`), then the parts put together.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from agent.intents import Clarify, Compound, Intent, Refuse, Routing, Unsupported
from agent.router_clause import Clause, Context, route_clause
from agent.router_slots import close_to, service_words, services, versions
from agent.router_words import (
    AUTO_ROLLBACK,
    CHITCHAT,
    COMMON,
    CONFIRM,
    DEPLOY,
    FOREIGN,
    GATE,
    GATE_VERB,
    HOW_TO_FIX,
    LEAD_IN,
    MENTION,
    NOT_A_NAME,
    POSTMORTEMS,
    QUESTION,
    READ_VERB,
    ROLLBACK,
    RUNBOOKS,
)
from tools.config import RunbookConfig

__all__ = ["Clarify", "Compound", "Intent", "Refuse", "Routing", "Unsupported", "asks_for_change", "clean", "route"]

_KEYWORDS = frozenset(
    "deploy deploys deployment deployments deployed redeploy rollback rollbacks revert status health healthy "
    "history errors error latency metrics alarms alarm staging production investigate release releases postmortem "
    "postmortems runbook runbooks version versions canary exceptions timeouts failures changelog restart "
    "approve incident incidents".split())
_SPLIT_AFTER_AND = re.compile(
    r"^(?:also\s+|then\s+)?(?:(?:re)?deploy|ship|release|roll|rollback|revert|undo|downgrade|push|upgrade|bump|promote|"
    r"go back|put|take|restore|show|list|get|check|look|find|search|tell|investigate|give me|what|which|who|when|"
    r"why|how|has|have|is|are|did|any|do|if|when|once|unless)\b", re.I)
REFUSAL = ("I can't do that: approvals and gates are decided by a person, never by me. I can't approve, deny,"
           " skip or force anything, and I don't start a change in the same breath as a request to get around"
           " its gates. To request the change normally, ask for it on its own (it then runs every gate and waits"
           " for a person's approval); to decide a pending request, use the Slack card or `runbook approve` /"
           " `runbook deny` as yourself.")


def clean(text: str, config: RunbookConfig) -> str:
    """The request without mentions and odd quotes, with typos of the router's words and the services'
    names fixed ("paymnets" → "payments", "stauts" → "status")."""
    text = MENTION.sub(" ", text).replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    text = " ".join(text.split())
    targets = _KEYWORDS | frozenset(service_words(tuple(sorted(config.services))))
    known = targets | frozenset(COMMON) | frozenset(NOT_A_NAME)
    return _fix_typos(text, targets, known)


def _fix_typos(text: str, targets: frozenset[str], known: frozenset[str]) -> str:
    def fix(match: re.Match[str]) -> str:
        word = match.group(0)
        lowered = word.lower()
        if lowered in known:
            return word
        near = close_to(lowered, targets)
        if near is None or near.rstrip("s") == lowered.rstrip("s"):  # a plural is no typo: keep what was said
            return word
        return near

    return re.sub(r"(?<![\w.-])[A-Za-z]{5,}(?![\w-])", fix, text)


def route(text: str, config: RunbookConfig, previous: Routing | Callable[[], Routing | None] | None = None,
          now: datetime | None = None) -> Routing:
    """What the request asks for; `previous` (the session's last routing, or what reads it) resolves
    follow-ups, and is read only when the request needs it."""
    now = now or datetime.now().astimezone()
    text = clean(text, config)
    body = LEAD_IN.sub("", text).strip()

    def last_intent() -> Intent | None:
        found = previous() if callable(previous) else previous
        return found if isinstance(found, Intent) else _last_part(found)

    if not body or CHITCHAT.match(body):
        return Unsupported(reason="Hello! I answer questions about the services and request deploys and rollbacks.")
    if _dodges_a_gate(body):
        return Refuse(reason=REFUSAL)
    if CONFIRM.match(body):
        return _confirmed(last_intent())
    if FOREIGN.match(body) and not (DEPLOY.match(body) or ROLLBACK.match(body) or READ_VERB.match(body)):
        return Unsupported(reason="No capability of mine does that: I read the state of services (status, errors,"
                                  " metrics, alarms, history, runbooks) and request deploys and rollbacks.")
    notes: list[str] = []
    if DEPLOY.search(body) and AUTO_ROLLBACK.search(body):  # a deploy option, never a rollback request
        body = AUTO_ROLLBACK.sub(" ", body).strip(" ,;-")
        notes.append("Automatic rollback is a `runbook deploy --auto-rollback` option and is not turned on"
                     " from here: if validation fails, the deploy says exactly how to roll back.")
    parts: list[Intent | Clarify] = []
    context = Context(loader=last_intent)
    for piece in split(body, config):
        clause = Clause.of(piece, config, now)
        routed = route_clause(clause, config, context, parts)
        if routed is None:
            continue
        parts.append(routed)
        if isinstance(routed, Intent):
            context = Context(routed)
    return _combine(parts, notes)


def _dodges_a_gate(body: str) -> bool:
    """Approve, deny, skip, bypass, force, reveal a secret: refused whatever else the request says (asking how
    the procedure works is a question for the runbooks instead)."""
    if RUNBOOKS.search(body) or POSTMORTEMS.search(body) or HOW_TO_FIX.search(body):
        return False
    if GATE_VERB.match(body):
        return True
    return bool(GATE.search(body)) and not (QUESTION.match(body) and not re.search(r"\b(?:can|could|will) you\b", body, re.I)
                                            and not re.search(r"\bignore\b|\byou (?:are|'re) now\b", body, re.I))


def _last_part(previous: Routing | None) -> Intent | None:
    """A compound's last intent: what "it" refers to next."""
    if isinstance(previous, Compound):
        intents = [p for p in previous.parts if isinstance(p, Intent)]
        return intents[-1] if intents else None
    return None


def _confirmed(last: Intent | None) -> Routing:
    """"do it", "yes, go ahead": the change the asker named earlier in this conversation without asking for
    it yet (a question about it, or the change part of a compound)."""
    if last is not None and last.proposal:
        return Intent.model_validate({**last.proposal, "notes": [], "proposal": None, "conditional": False})
    if last is not None and last.is_change:
        return last
    return Unsupported(reason="Do what? Name the change, e.g. 'roll back checkout-api in production'.")


def split(body: str, config: RunbookConfig) -> list[str]:
    """The parts of a request: at "?", ";", "then", ", if" and at "and" when an action, a question or a
    service with a version follows it ("... and roll it back", "deploy checkout 1.2.3 and payments 3.4.2")."""
    pieces = [p for p in re.split(r"\s*[?!]+\s+(?=\S)|\s*;\s*|\s*,?\s+(?:and\s+)?then\s+|\s*,\s*(?=(?:if|when|once)\b)",
                                  body, flags=re.I) if p and p.strip()]
    out: list[str] = []
    for piece in pieces:
        cursor = 0
        for match in re.finditer(r"\s*,?\s+and\s+", piece, re.I):
            after, before = piece[match.end():], piece[cursor:match.start()]
            if (_SPLIT_AFTER_AND.match(after) or _service_with_version(after, config)
                    or _service_and_skill(after, before, config)):
                out.append(piece[cursor:match.start()])
                cursor = match.end()
        out.append(piece[cursor:])
    return [p.strip(" ,") for p in out if p.strip(" ,")]


def _service_and_skill(after: str, before: str, config: RunbookConfig) -> bool:
    """"payments status and payments deploy history": both sides name a service, the second a skill too."""
    from agent.router_words import ALARMS, HISTORY, INVESTIGATE, STATUS, VERSIONS

    head = " ".join(after.split()[:4])
    if not (services(head, config) and services(before, config)):
        return False
    return any(p.search(head) for p in (HISTORY, INVESTIGATE, STATUS, ALARMS, VERSIONS)) or "deploy" in head.lower()


def _service_with_version(text: str, config: RunbookConfig) -> bool:
    head = " ".join(text.split()[:3])
    found, named = versions(head), services(head, config)
    return bool(found and named and named[0].start < found[0].start)


def _combine(parts: list[Intent | Clarify], notes: list[str]) -> Routing:
    unique: list[Intent | Clarify] = []
    for part in parts:
        if not any(p.model_dump(exclude={"topic", "notes"}) == part.model_dump(exclude={"topic", "notes"}) for p in unique):
            unique.append(part)
    if not unique:
        return Unsupported(reason="I could not tell what you are asking for.")
    if len(unique) == 1:
        only = unique[0]
        if isinstance(only, Intent) and notes:
            only = only.model_copy(update={"notes": only.notes + notes})
        if isinstance(only, Intent) and only.conditional and only.is_change:
            return Compound(parts=[only])  # "if it's fine, deploy ...": never requested on a condition
        return only
    first_change = next((p for p in unique if isinstance(p, Intent) and p.is_change), None)
    if first_change is not None:  # what a later "do it" confirms
        for i, part in enumerate(unique):
            if isinstance(part, Intent) and not part.is_change:
                unique[i] = part.model_copy(update={"proposal": first_change.model_dump(exclude={"proposal"})})
    return Compound(parts=unique)


def asks_for_change(routing: Routing) -> bool:
    """Whether the asker's own words request a deploy or rollback, alone (only then may a request tool run)."""
    return isinstance(routing, Intent) and routing.is_change and not routing.conditional
