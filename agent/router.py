"""The offline intent router: understands the common requests without a model, and passes the same
arguments the model would (see `agent.tools`). Deterministic; the asker's words only."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel

from tools.config import RunbookConfig

_UNITS = {"s": 1 / 60, "sec": 1 / 60, "second": 1 / 60, "m": 1, "min": 1, "minute": 1, "h": 60, "hr": 60,
          "hour": 60, "d": 1440, "day": 1440}
_NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "five": 5, "ten": 10, "fifteen": 15,
                 "twenty": 20, "thirty": 30, "half an": 0.5, "half a": 0.5}
_WINDOW = re.compile(
    r"\b(?:(\d+(?:\.\d+)?)\s*|(an?|one|two|three|five|ten|fifteen|twenty|thirty|half an|half a)\s+)?"
    r"(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)\b", re.I)
_VERSION = re.compile(r"\b(?:v(?:ersion)?\s*)?(\d+\.\d+(?:\.\d+)?(?:[-.][A-Za-z0-9]+)*)\b", re.I)
_ENV_ALIASES = {"prod": "production", "prd": "production", "live": "production", "stage": "staging",
                "stg": "staging"}

ROLLBACK = re.compile(r"\b(roll\s*back|rollback|revert|undo)\b", re.I)
DEPLOY = re.compile(r"\b(deploy|ship|release|roll\s*out|rollout|push|upgrade)\b", re.I)
HISTORY = re.compile(r"\b(deploy(?:ment)?s|deployed|history|releases|rollbacks|shipped|changes)\b", re.I)
QUESTION = re.compile(r"^\s*(what|which|when|who|did|list|show|recent|last|any|were|was|how many)\b", re.I)
VERSIONS = re.compile(r"\b(which|what) versions?\b|\bversions?\b.*\b(running|where|run|deployed)\b|"
                      r"\brunning where\b", re.I)
STATUS = re.compile(r"\b(status|health|healthy|unhealthy|up|down|ok|okay|tasks?|running|doing|alive|fine)\b",
                    re.I)
ALARMS = re.compile(r"\b(alarms?|alerts?|incidents?|paging|pages)\b", re.I)
INVESTIGATE = re.compile(r"\b(errors?|logs?|exceptions?|failures?|failing|5xx|500s?|latency|p99|slow|broken|"
                         r"wrong|investigate|why|spike|metrics|error rate|timeouts?|crash\w*)\b", re.I)
FOLLOW_UP = re.compile(r"^\s*(and|what about|how about|same|now|also|ok and)\b|\bbefore\b|\bearlier\b", re.I)
BEFORE = re.compile(r"\b(before|earlier|prior|preceding)\b", re.I)
# Recall: what runbook remembers (runbooks, postmortems, past deployments and investigations).
RUNBOOKS = re.compile(r"\b(run\s?books?|play\s?books?|sops?|procedures?)\b", re.I)
POSTMORTEMS = re.compile(r"\b(post[- ]?mortems?|incident (?:reports?|reviews?)|retros?|retrospectives?|rcas?)\b", re.I)
KNOWLEDGE = re.compile(r"\b(knowledge(?: base)?|memory|notes|docs|documentation)\b", re.I)
SEARCH = re.compile(r"^\s*(search|look up|lookup|find|grep|check)\b", re.I)
SEEN_BEFORE = re.compile(
    r"\b(happen\w*|seen|occur\w*|run into|ran into|encounter\w*)\b.*\b(before|previously|in the past)\b"
    r"|\b(has|have|had|hit|got|did)\b.*\b(before|previously|in the past)\s*[?.!]*\s*$"
    r"|\bever\b.*\b(happen\w*|seen|see|saw|had|have|hit|occur\w*)\b"
    r"|\b(similar|past|previous|earlier|prior|old) (incidents?|outages?|issues?|problems?|failures?)\b"
    r"|\bremember\b", re.I)
DEPLOYED = re.compile(r"\b(deploy\w*|releas\w*|ship\w*|roll(?:ed|ing)?\s*out|upgrad\w*|push\w*)\b", re.I)
LAST_TIME = re.compile(r"\b(last|previous|prior) time\b|\bwent wrong\b.*\b(deploy\w*|releas\w*|ship\w*)\b", re.I)
HOW_TO_FIX = re.compile(r"\bhow (?:do|should|can|did|to)\b.*\b(fix|handle|mitigate|deal with|recover|resolve|"
                        r"troubleshoot)\b|\bwhat (?:do|should) (?:we|i) do (?:about|when|if|with)\b", re.I)
_TOPIC = re.compile(r"\b(?:covers?|covering|about|for|on|regarding|mentioning|mentions?|with|when|if|of|say about|"
                    r"says about|talks? about)\s+(.+)$", re.I)
_FILLER = set("a an the this that it these those is was were are be been has have had did do does we i you us our "
              "ever before previously in past again happen happened happens happening seen see occur occurred "
              "run ran into hit got encounter encountered something anything like similar incident incidents "
              "any there what which who when how remember recall search look up find check last time previous "
              "prior went wrong go goes with for about to of on should could can saw".split())


_READ_TOOLS = ("investigate", "service_status", "deployment_history", "get_metrics", "get_error_logs", "get_alarms",
               "recall")


class Intent(BaseModel):
    tool: str  # a name from agent.tools.TOOLS
    skill: str
    args: dict[str, Any]
    topic: str | None = None  # what the answer was about (set after an investigation: its top errors)


class Unknown(BaseModel):
    reason: str  # shown to the asker with what works offline


def _window(text: str) -> int | None:
    lowered = text.lower()
    if re.search(r"\byesterday\b", lowered):
        return 1440
    if re.search(r"\btoday\b", lowered):
        return 720
    for match in _WINDOW.finditer(text):
        number, word, unit = match.group(1), match.group(2), match.group(3).lower()
        if number is None and word is None:
            if len(unit) == 1 or not re.search(r"\b(last|past|previous|the|an?)\s+$", text[: match.start(3)], re.I):
                continue
            amount = 1.0
        else:
            amount = float(number) if number is not None else _NUMBER_WORDS[word.lower()]
        key = unit if unit in _UNITS else unit.rstrip("s")
        return max(1, round(amount * _UNITS.get(key, _UNITS.get(unit[0], 1))))
    return None


def _service(text: str, config: RunbookConfig) -> str | None:
    lowered = text.lower()
    for name in sorted(config.services, key=len, reverse=True):
        if re.search(rf"(?<![\w-]){re.escape(name.lower())}(?![\w-])", lowered):
            return name
    for name in config.services:
        stem = name.lower().split("-")[0]
        if len(stem) >= 4 and re.search(rf"\b{re.escape(stem)}\b", lowered):
            return name
    return None


def _environment(text: str, config: RunbookConfig) -> str | None:
    lowered = text.lower()
    for name in config.environments:
        if re.search(rf"\b{re.escape(name.lower())}\b", lowered):
            return name
    for alias, name in _ENV_ALIASES.items():
        if name in config.environments and re.search(rf"\b{alias}\b", lowered):
            return name
    for name, env in config.environments.items():
        if re.search(rf"\b{re.escape(env.cluster.lower())}\b", lowered):
            return name
    return None


def _version(text: str) -> str | None:
    match = _VERSION.search(text)
    return match.group(1) if match else None


def route(text: str, config: RunbookConfig, previous: Intent | None = None) -> Intent | Unknown:
    """The intent of one request; `previous` (the session's last intent) resolves follow-ups."""
    service, env, window, version = _service(text, config), _environment(text, config), _window(text), _version(text)
    if _asks_to_recall(text):  # before the requests: "the runbook for rolling back X" is a question
        return _recall(text, service, previous)
    if ROLLBACK.search(text) and not QUESTION.search(text):
        if not service:
            return Unknown(reason="Roll back which service? Name it, e.g. 'roll back checkout-api in production'.")
        to = version if version and re.search(r"\bto\b", text, re.I) else None
        return Intent(tool="request_rollback", skill="rollback",
                      args={"service": service, "environment": env, "to_version": to})
    if DEPLOY.search(text) and version and not QUESTION.search(text):
        if not service:
            return Unknown(reason="Deploy which service? e.g. 'deploy checkout-api 1.2.4 to staging'.")
        return Intent(tool="request_deploy", skill="deploy",
                      args={"service": service, "version": version, "environment": env})
    if VERSIONS.search(text):
        return Intent(tool="service_status", skill="status", args={"service": service, "environment": env})
    if HISTORY.search(text) or ((ROLLBACK.search(text) or DEPLOY.search(text)) and QUESTION.search(text)):
        return Intent(tool="deployment_history", skill="history",
                      args={"service": service, "environment": env, "limit": 10})
    if INVESTIGATE.search(text) or (window and (service or previous)):
        return _investigate(text, service, env, window, previous, config)
    if ALARMS.search(text):
        if service:
            return Intent(tool="get_alarms", skill="status", args={"service": service, "environment": env})
        return Intent(tool="service_status", skill="status", args={"service": None, "environment": env})
    if STATUS.search(text) and (service or env or re.search(r"\b(everything|all|fleet|services)\b", text, re.I)):
        return Intent(tool="service_status", skill="status", args={"service": service, "environment": env})
    if previous is not None and previous.tool in _READ_TOOLS and FOLLOW_UP.search(text) and (service or env):
        args = dict(previous.args)
        args.update({k: v for k, v in (("service", service), ("environment", env)) if v})
        return Intent(tool=previous.tool, skill=previous.skill, args=args)
    if service and len(text.split()) <= 4:  # "checkout-api?" reads as a status question
        return Intent(tool="service_status", skill="status", args={"service": service, "environment": env})
    return Unknown(reason="I could not tell what you are asking for.")


def _investigate(text: str, service: str | None, env: str | None, window: int | None,
                 previous: Intent | None, config: RunbookConfig) -> Intent | Unknown:
    same = previous if previous is not None and previous.tool == "investigate" else None
    if service is None and same is not None:
        service = same.args["service"]
        env = env or same.args.get("environment")
    if service is None:
        return Unknown(reason="Which service? Known services: " + ", ".join(sorted(config.services)) + ".")
    offset = 0
    if same is not None and BEFORE.search(text) and FOLLOW_UP.search(text):
        offset = int(same.args.get("offset_minutes", 0)) + int(same.args.get("window_minutes", 10))
        window = window or int(same.args.get("window_minutes", 10))
    return Intent(tool="investigate", skill="investigate",
                  args={"service": service, "environment": env, "window_minutes": window or 10,
                        "offset_minutes": offset})


def _asks_to_recall(text: str) -> bool:
    if RUNBOOKS.search(text) or POSTMORTEMS.search(text) or SEEN_BEFORE.search(text) or LAST_TIME.search(text):
        return True
    return bool(HOW_TO_FIX.search(text) or (SEARCH.search(text) and KNOWLEDGE.search(text)))


def _recall_kinds(text: str) -> list[str] | None:
    kinds = [kind for kind, words in (("runbook", RUNBOOKS), ("postmortem", POSTMORTEMS)) if words.search(text)]
    if kinds:
        return kinds
    if HOW_TO_FIX.search(text):
        return ["runbook"]
    if LAST_TIME.search(text) and DEPLOYED.search(text):
        return ["deployment", "postmortem"]
    if SEEN_BEFORE.search(text) or LAST_TIME.search(text):
        return ["postmortem", "investigation", "deployment"]
    return None


def _recall_topic(text: str, service: str | None) -> str:
    """What to look for: the words after "runbook(s) ... for/about/covering", else the question's own
    content words; "" when nothing but the service (and filler) is left ("has this happened before?")."""
    text = text.strip().rstrip("?.! ")
    after = re.split(r"\b(?:run\s?books?|play\s?books?|sops?|procedures?|post[- ]?mortems?|incident reports?|knowledge(?: base)?|"
                     r"memory|notes|docs)\b", text, maxsplit=1, flags=re.I)
    if len(after) == 2:
        found = _TOPIC.search(after[1])
        if found:
            text = found.group(1)
    words = [w for w in re.findall(r"[\w.\-/]+", text) if w.lower() not in _FILLER]
    if not [w for w in words if not service or w.lower() not in (service.lower(), service.split("-")[0].lower())]:
        return ""
    return " ".join(words)


def _recall(text: str, service: str | None, previous: Intent | None) -> Intent | Unknown:
    """A search of what runbook remembers, with the arguments the model would pass to `recall`."""
    kinds, topic = _recall_kinds(text), _recall_topic(text, service)
    if service and kinds == ["deployment", "postmortem"]:  # "what went wrong the last time we deployed X?"
        topic = f"what went wrong deploying {service}"
    if kinds == ["runbook"] and topic:  # most runbooks are about no one service: named in the query, not a filter
        service = None
    if not topic and previous is not None:  # "has this happened before?": the conversation's last topic
        service = service or previous.args.get("service")
        topic = previous.topic or str(previous.args.get("query") or "")
    if not topic and service:
        topic = f"{service} incident" if not kinds or "runbook" not in kinds else f"{service} runbook"
    if not topic:
        return Unknown(reason="Has what happened before? Name the service or the symptom, e.g. 'has checkout-api"
                              " run out of memory before?' or 'which runbook covers Redis connection errors?'.")
    return Intent(tool="recall", skill="recall", args={"query": topic, "kinds": kinds, "service": service, "limit": 5})
