"""Requests for what runbook remembers (runbooks, postmortems, past deployments and investigations), and
the topic words a request is about (what a later "has this happened before?" searches for)."""

from __future__ import annotations

import re
from collections.abc import Callable

from agent.intents import Clarify, Intent
from agent.router_words import (
    HOW_TO_FIX,
    KNOWLEDGE,
    LAST_TIME,
    POSTMORTEMS,
    RUNBOOKS,
    SEARCH,
    SEEN_BEFORE,
    WHY_PAST,
)

_TOPIC = re.compile(r"\b(?:covers?|covering|about|for|on|regarding|mentioning|mentions?|with|when|if|of|say about|"
                    r"says about|talks? about)\s+(.+)$", re.I)
_FILLER = set("a an the this that it these those is was were are be been has have had did do does we i you us our "
              "ever before previously in past again happen happened happens happening seen see occur occurred "
              "run ran into hit got encounter encountered something anything like similar incident incidents "
              "any there what which who when how remember recall search look up find check last time previous "
              "prior went wrong go goes with for about to of on should could can saw why so me show tell give "
              "please pls remind learn learned learnt from lessons during whats what's is there any handling "
              "dealing".split())
_KIND_WORDS = re.compile(r"\b(?:run\s?books?|play\s?books?|sops?|procedures?|post[- ]?mortems?|incident reports?|"
                         r"knowledge(?: base)?|memory|notes|docs|documentation|guide|guidance|wiki)\b", re.I)


def asks_to_recall(text: str) -> bool:
    if RUNBOOKS.search(text) or POSTMORTEMS.search(text) or SEEN_BEFORE.search(text) or LAST_TIME.search(text):
        return True
    about = re.search(r"\b(?:notes|docs|documentation|guide|guidance|wiki)\s+(?:on|about|for|covering)\b", text, re.I)
    return bool(HOW_TO_FIX.search(text) or WHY_PAST.search(text) or about
                or (SEARCH.search(text) and KNOWLEDGE.search(text)))


def kinds_of(text: str) -> list[str] | None:
    kinds = [kind for kind, words in (("runbook", RUNBOOKS), ("postmortem", POSTMORTEMS)) if words.search(text)]
    if kinds:
        return kinds
    if HOW_TO_FIX.search(text) or re.search(r"\b(?:notes|docs|documentation|guide|guidance|wiki)\s+(?:on|about|for)\b",
                                             text, re.I):
        return ["runbook"]
    if LAST_TIME.search(text) and re.search(r"\b(?:deploy\w*|releas\w*|ship\w*|roll\w*)\b", text, re.I):
        return ["deployment", "postmortem"]
    if WHY_PAST.search(text):
        return ["deployment", "postmortem", "investigation"]
    if SEEN_BEFORE.search(text) or LAST_TIME.search(text):
        return ["postmortem", "investigation", "deployment"]
    return None


def content_words(text: str, service: str | None) -> list[str]:
    """The words a request is about: no filler, and not the service's own name (it is a filter)."""
    names = {service.lower(), *service.lower().split("-")} if service else set()
    words = [w.strip(".,:;!?'\"") for w in re.findall(r"[\w.\-/']+", text)]
    return [w for w in words if w and w.lower() not in _FILLER and w.lower() not in names
            and not re.fullmatch(r"[\w-]+'s", w.lower())]


def topic_of(text: str, service: str | None) -> str:
    """What a read request is about, for a follow-up recall: "checkout-api 503s", "inventory-api errors"."""
    words = [w for w in content_words(text, service) if not re.fullmatch(r"\d+(?:m|h|min|mins|minutes|hours?)?", w)]
    return " ".join(([service] if service else []) + words)


def _query(text: str, service: str | None) -> str:
    """The words after "runbook(s) ... for/about/covering", else the request's own content words; "" when
    nothing but the service and filler is left ("has this happened before?")."""
    text = text.strip().rstrip("?.! ")
    after = _KIND_WORDS.split(text, maxsplit=1)
    if len(after) == 2:
        found = _TOPIC.search(after[1])
        if found:
            text = found.group(1)
        elif after[1].strip():
            text = after[1] if not after[0].strip() else text
    words = [w for w in re.findall(r"[\w.\-/]+", text) if w.lower() not in _FILLER]
    if not [w for w in words if not service or w.lower() not in (service.lower(), service.split("-")[0].lower())]:
        return ""
    return " ".join(words)


def recall_intent(text: str, service: str | None, previous: Callable[[], Intent | None]) -> Intent | Clarify:
    """A search of what runbook remembers, with the arguments the model would pass to `recall`;
    `previous` gives the conversation's last intent (read only when the request does not say its topic)."""
    kinds, topic = kinds_of(text), _query(text, service)
    if service and kinds == ["deployment", "postmortem"]:  # "what went wrong the last time we deployed X?"
        topic = f"what went wrong deploying {service}"
    if kinds == ["runbook"] and topic:  # most runbooks are about no one service: named in the query, not a filter
        service = None
    last = previous() if not topic else None
    if last is not None:  # "has this happened before?": the conversation's last topic
        service = service or last.args.get("service")
        topic = last.topic or str(last.args.get("query") or "")
    if not topic and service:
        topic = f"{service} incident" if not kinds or "runbook" not in kinds else f"{service} runbook"
    if not topic:
        return Clarify(clarify="missing_service", skill="recall", question=(
            "Has what happened before? Name the service or the symptom, e.g. 'has checkout-api run out of"
            " memory before?' or 'which runbook covers Redis connection errors?'."))
    return Intent(tool="recall", skill="recall", topic=topic,
                  args={"query": topic, "kinds": kinds, "service": service, "limit": 5})
