"""One part of a request, routed: a change (deploy, rollback), a read (investigate, status, history,
recall), a question asked back, or a follow-up of what came before.

A change is only what the words *ask*: "roll back payments" is a rollback, "should we roll back
payments?" is a question (answered by an investigation, the rollback kept as a proposal for a later
"do it"), "why was 1.2.4 rolled back?" is a recall, "with automatic rollback" is a deploy option.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from agent.intents import Clarify, Intent
from agent.router_recall import asks_to_recall, recall_intent, topic_of
from agent.router_slots import (
    ENV_ALIASES,
    Found,
    environments,
    object_word,
    services,
    unknown_environment,
    unknown_services,
    versions,
)
from agent.router_time import Span, span
from agent.router_words import (
    ADVICE,
    ALARMS,
    ANAPHORA,
    BEFORE,
    COMMON,
    CONDITION,
    COUNT,
    DEPLOY,
    DEPLOY_LOG,
    DEPLOYED,
    EVERY_ENV,
    FLEET,
    FOLLOW_UP,
    HISTORY,
    INVESTIGATE,
    LAST_ONE,
    LATEST,
    LEAD_IN,
    LOGS,
    METRICS_ONLY,
    NOT_A_NAME,
    NOUN_DEPLOY,
    PATTERN,
    QUESTION,
    READ_VERB,
    REGISTRY,
    ROLLBACK,
    SERVICE_SLOT,
    STATUS,
    VERSIONS,
)
from tools.config import RunbookConfig

MAX_WINDOW = 1440  # the investigate tool's own cap (InvestigateArgs.window_minutes)
_COUNTS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
           "twenty": 20}


class Context:
    """The intent said just before: an earlier part of this request, or the session's last routing, read
    (from its checkpoint) only when a part needs it: most requests say all they mean."""

    def __init__(self, value: Intent | None = None, loader: Callable[[], Intent | None] | None = None) -> None:
        self._value, self._loader = value, loader

    def get(self) -> Intent | None:
        if self._loader is not None:
            self._value, self._loader = self._loader(), None
        return self._value


@dataclass
class Clause:
    text: str  # as said (cleaned)
    body: str  # without greetings and "can you"
    services: list[Found]
    unknown: list[Found]
    envs: list[Found]
    versions: list[Found]
    span: Span | None
    question: bool

    @classmethod
    def of(cls, text: str, config: RunbookConfig, now: datetime) -> Clause:
        body = LEAD_IN.sub("", text).strip() or text
        named = services(body, config)
        unknown = [] if named else unknown_services(body, config, NOT_A_NAME)
        if not named and not unknown:
            lone = object_word(body, NOT_A_NAME | set(ENV_ALIASES)) or _in_service_slot(body, config)
            if lone is not None and not environments(lone.value, config):
                unknown = [lone]
        return cls(text=text, body=body, services=named, unknown=unknown, envs=environments(body, config),
                   versions=versions(body), span=span(body, now), question=bool(QUESTION.match(body)))

    @property
    def service(self) -> str | None:
        return self.services[0].value if self.services else None

    @property
    def env(self) -> str | None:
        return self.envs[0].value if self.envs else None


def _in_service_slot(body: str, config: RunbookConfig) -> Found | None:
    """A word where a service name goes ("deploy billing 1.0.0") that names no service, environment,
    version or word the router knows."""
    for match in SERVICE_SLOT.finditer(body):
        name = match.group("name").lower()
        if (name in NOT_A_NAME or name in COMMON or name in ENV_ALIASES or LATEST.match(name) or len(name) < 3
                or environments(name, config) or re.match(r"v?\d", name)):
            continue
        return Found(name, match.start("name"), match.end("name"))
    return None


def _has(pattern: re.Pattern[str], text: str, exclude: re.Pattern[str] | None = None) -> bool:
    spans = [m.span() for m in exclude.finditer(text)] if exclude else []
    return any(not any(s <= m.start() < e for s, e in spans) for m in pattern.finditer(text))


def route_clause(c: Clause, config: RunbookConfig, context: Context,
                 earlier: list[Intent | Clarify]) -> Intent | Clarify | None:
    """`context`: the intent said just before (earlier in this request, else the session's last one),
    read only when this part needs it."""
    b = c.body
    rollback, deploy = _has(ROLLBACK, b), _has(DEPLOY, b, NOUN_DEPLOY)
    if DEPLOY_LOG.search(b) and (c.question or not _has(ROLLBACK, b)):
        return _history(c, config, context)  # "deploy log for payments", "who rolled back checkout last time?"
    if asks_to_recall(b):
        return recall_intent(b, c.service, context.get)
    starts_with_change = bool(ROLLBACK.match(b) or DEPLOY.match(b))
    if not c.question and (starts_with_change or not READ_VERB.match(b)) and (rollback or deploy):
        return _rollback(c, config, context) if rollback else _deploy(c, config, context)
    if c.question and ADVICE.match(b) and (rollback or deploy):
        change = _rollback(c, config, context) if rollback else _deploy(c, config, context)
        found = _investigate(c, config, context, "investigate")
        if isinstance(found, Intent) and isinstance(change, Intent):
            found.proposal = change.model_dump(exclude={"proposal"})
        return found
    if (not c.question and c.services and c.versions and c.envs and not rollback
            and re.search(r"\b(?:to|into|->)\s+(?:the\s+)?\w+", b, re.I) and _read_kind(c, False) is None):
        return _deploy(c, config, context)  # "payments 3.5.0 to production please": a deploy, said briefly
    read = _read_kind(c, rollback or deploy)
    if c.unknown and not c.services:
        return _unknown_service(c, config, read or "status")
    if read is None:
        return _follow_up(c, config, context, earlier)
    if read in ("investigate", "logs", "metrics"):
        return _investigate(c, config, context, read)
    if read == "history":
        return _history(c, config, context)
    if read == "registry":
        service = _service_or_context(c, context, needs_one=True)
        if service is None:
            return _missing_service(config, "status", {}, "The versions of")
        return Intent(tool="image_versions", skill="status", args={"service": service, "limit": 8})
    return _status(c, config, context, read == "alarms")


def _read_kind(c: Clause, change_words: bool) -> str | None:
    b = c.body
    if c.question:
        order = [("investigate", INVESTIGATE), ("registry", REGISTRY), ("versions", VERSIONS), ("history", HISTORY),
                 ("history", NOUN_DEPLOY), ("alarms", ALARMS), ("status", STATUS)]
    else:
        order = [("logs", LOGS), ("metrics", METRICS_ONLY), ("investigate", INVESTIGATE), ("registry", REGISTRY),
                 ("versions", VERSIONS), ("history", HISTORY), ("history", NOUN_DEPLOY), ("alarms", ALARMS),
                 ("status", STATUS)]
    if (LOGS.search(b) or INVESTIGATE.search(b)) and PATTERN.search(b) and not c.question:
        return "logs"  # "logs mentioning timeout": only the log tool matches text
    for kind, pattern in order:
        if pattern.search(c.text if kind == "metrics" else b):
            if kind == "investigate" and c.question and LOGS.search(b) and not re.search(r"\berrors?\b", b, re.I):
                return "logs"
            return "status" if kind == "versions" else kind
    if c.question and change_words and DEPLOYED.search(b):  # "did anyone deploy X recently?"
        return "history"
    if c.span is not None and (c.services or FOLLOW_UP.search(c.text)):
        return "investigate"
    return None


def _unknown_service(c: Clause, config: RunbookConfig, skill: str) -> Clarify:
    name = c.unknown[0].value
    known = sorted(config.services)
    return Clarify(clarify="unknown_service", skill=skill, args={"service": name}, options=known,
                   question=f"I don't know a service called '{name}'. Known services: {', '.join(known)}.")


def _missing_service(config: RunbookConfig, skill: str, args: dict[str, object], what: str) -> Clarify:
    known = sorted(config.services)
    return Clarify(clarify="missing_service", skill=skill, args=args, options=known,
                   question=f"{what} which service? Known services: {', '.join(known)}.")


def _service_or_context(c: Clause, context: Context, needs_one: bool) -> str | None:
    if c.service:
        return c.service
    if not (needs_one or ANAPHORA.search(c.body) or FOLLOW_UP.search(c.text)):
        return None
    last = context.get()
    return str(last.args["service"]) if last is not None and last.args.get("service") else None


def _target_env(c: Clause) -> str | None:
    """Where a change goes: the environment after to/into/in/on (or in brackets), else the one named."""
    for lead in (r"(?:\bto|\binto|->)", r"\(", r"(?:\bin|\bon|\bfor)"):  # "to" says where a change goes
        for env in c.envs:
            if re.search(lead + r"\s*(?:the\s+)?$", c.body[: env.start].lower()):
                return env.value
    return c.envs[-1].value if c.envs else None


def _env_trouble(c: Clause, config: RunbookConfig, skill: str, args: dict[str, object], change: bool) -> Clarify | None:
    unknown = unknown_environment(c.body, config, NOT_A_NAME | {s.value for s in c.services}, change)
    if unknown is None:
        return None
    known = sorted(config.environments)
    return Clarify(clarify="ambiguous", skill=skill, args=args, options=known,
                   question=f"There is no environment called '{unknown}'. Known environments: {', '.join(known)}."
                            " Which one?")


def _deploy(c: Clause, config: RunbookConfig, context: Context) -> Intent | Clarify:
    last = context.get() if not c.services or FOLLOW_UP.search(c.text) else None  # "ok now prod"
    follow = last if last is not None and last.tool == "request_deploy" else None
    if FLEET.search(c.body) and not c.services:
        return Clarify(clarify="ambiguous", skill="deploy", options=sorted(config.services), question=(
            "I deploy one service at a time, each through its own gates. Which service, and which version?"))
    if c.unknown and not c.services:
        return _unknown_service(c, config, "deploy")
    if EVERY_ENV.search(c.body) and not (c.question or CONDITION.search(c.body)):
        return Clarify(clarify="ambiguous", skill="deploy", args={"service": c.service} if c.service else {},
                       options=sorted(config.environments), question=(
                           "I deploy to one environment at a time, each through its own gates. Which one first: "
                           + " or ".join(sorted(config.environments)) + "?"))
    service = c.service or (str(follow.args["service"]) if follow else _service_or_context(c, context, False))
    env = _target_env(c) or (follow.args.get("environment") if follow and not c.envs else None)
    version, trouble = _deploy_version(c, follow)
    args: dict[str, object] = {"service": service, "environment": env}
    if version:
        args["version"] = version
    if service is None:
        return _missing_service(config, "deploy", {k: v for k, v in args.items() if v}, "Deploy")
    if len(c.services) > 1 and not follow:
        return Clarify(clarify="ambiguous", skill="deploy", args={"version": version} if version else {},
                       question="Which service? I deploy one at a time: " + ", ".join(s.value for s in c.services) + "?")
    bad_env = _env_trouble(c, config, "deploy", args, change=True)
    if bad_env is not None:
        return bad_env
    if trouble:
        return Clarify(clarify="ambiguous", skill="deploy", args={"service": service, "environment": env},
                       options=[v.value for v in c.versions], question=trouble)
    if not version:
        where = f" to {env}" if env else ""
        return Clarify(clarify="missing_version", skill="deploy", args={"service": service, "environment": env},
                       question=f"Which version of {service} should I deploy{where}?")
    return Intent(tool="request_deploy", skill="deploy", args={"service": service, "version": version,
                                                               "environment": env},
                  conditional=bool(CONDITION.search(c.body)))


def _deploy_version(c: Clause, follow: Intent | None) -> tuple[str | None, str]:
    said = list(dict.fromkeys(v.value for v in c.versions))
    if len(said) > 1:
        after_to = [v.value for v in c.versions if re.search(r"\bto\s+(?:version\s+|v)?$", c.body[: v.start], re.I)]
        if len(after_to) == 1 and not re.search(r"\bor\b", c.body, re.I):
            return after_to[0], ""
        return None, f"Which version: {' or '.join(said)}?"
    if said:
        return said[0], ""
    if LATEST.search(c.body):
        return None, ""
    if follow is not None:
        return str(follow.args.get("version") or "") or None, ""
    return None, ""


def _rollback(c: Clause, config: RunbookConfig, context: Context) -> Intent | Clarify:
    if c.unknown and not c.services:
        return _unknown_service(c, config, "rollback")
    service = _service_or_context(c, context, needs_one=True)
    env = _target_env(c)
    if service is None:
        return _missing_service(config, "rollback", {"environment": env} if env else {}, "Roll back")
    if len(c.services) > 1:
        return Clarify(clarify="ambiguous", skill="rollback", args={"environment": env} if env else {},
                       options=[s.value for s in c.services],
                       question="Which service? I roll back one at a time: " + " or ".join(s.value for s in c.services) + "?")
    to = next((v.value for v in c.versions
               if re.search(r"\b(?:to|onto|on|back to)\s+(?:version\s+|v)?$", c.body[: v.start], re.I)), None)
    args: dict[str, object] = {"service": service, "environment": env, "to_version": to}
    bad_env = _env_trouble(c, config, "rollback", args, change=True)
    if bad_env is not None:
        return bad_env
    return Intent(tool="request_rollback", skill="rollback", args=args, conditional=bool(CONDITION.search(c.body)))


def _window(c: Clause) -> tuple[int | None, int, list[str]]:
    notes: list[str] = []
    if c.span is None:
        return None, 0, notes
    minutes, offset = c.span.minutes, c.span.end_ago
    if minutes > MAX_WINDOW:
        notes.append(f"An investigation looks at 24 hours at most: this one covers the last 24 of the"
                     f" {minutes // 60} hours asked for.")
        offset, minutes = offset, MAX_WINDOW
    return minutes, min(offset, 10080), notes


def _investigate(c: Clause, config: RunbookConfig, context: Context, kind: str) -> Intent | Clarify:
    service = _service_or_context(c, context, needs_one=True)
    last = context.get() if not c.services or (BEFORE.search(c.body) and FOLLOW_UP.search(c.text)) else None
    same = last if last is not None and last.skill == "investigate" else None
    env = c.env or (str(same.args["environment"]) if same and not c.services and same.args.get("environment")
                    else None)
    if service is None:
        if FLEET.search(c.body):  # "everything that's broken": the fleet's status shows what is unhealthy
            return Intent(tool="service_status", skill="status", args={"service": None, "environment": c.env})
        return _missing_service(config, "investigate", {}, "Investigate")
    bad_env = _env_trouble(c, config, "investigate", {"service": service}, change=False)
    if bad_env is not None:
        return bad_env
    window, offset, notes = _window(c)
    if same is not None and BEFORE.search(c.body) and FOLLOW_UP.search(c.text):  # "and the hour before?"
        offset = int(same.args.get("offset_minutes", 0) or 0) + int(same.args.get("window_minutes", 10) or 10)
        window = window or int(same.args.get("window_minutes", 10) or 10)
    topic = topic_of(c.body, service)
    if kind == "logs":
        count = _count(c.body)
        args: dict[str, object] = {"service": service, "environment": env, "window_minutes": window or 10}
        if count:
            args["limit"] = min(count, 200)
        matched = PATTERN.search(c.body)
        if matched:
            args["pattern"] = (matched.group("quoted") or matched.group("word")).strip(" ?.!,")
        return Intent(tool="get_error_logs", skill="investigate", args=args, topic=topic, notes=notes)
    if kind == "metrics":
        return Intent(tool="get_metrics", skill="investigate", topic=topic, notes=notes,
                      args={"service": service, "environment": env, "window_minutes": window or 10})
    return Intent(tool="investigate", skill="investigate", topic=topic, notes=notes,
                  args={"service": service, "environment": env, "window_minutes": window or 10,
                        "offset_minutes": offset})


def _count(text: str) -> int | None:
    match = COUNT.search(text)
    if not match:
        return None
    raw = match.group("n") or match.group("n2")
    return int(raw) if raw.isdigit() else _COUNTS.get(raw.lower())


def _history(c: Clause, config: RunbookConfig, context: Context) -> Intent | Clarify:
    service = _service_or_context(c, context, needs_one=False)
    args: dict[str, object] = {"service": service, "environment": c.env, "limit": 10}
    count = _count(c.body)
    if count and re.search(r"deploy|releas|rollback|change", COUNT.search(c.body).group(0), re.I):  # type: ignore[union-attr]
        args["limit"] = min(count, 50)
    elif LAST_ONE.search(c.body):
        args["limit"] = 1
    if c.span is not None:
        args["since_minutes"] = max(1, min(c.span.since or c.span.start_ago, 525600))
    bad_env = _env_trouble(c, config, "history", args, change=False)
    return bad_env or Intent(tool="deployment_history", skill="history", args=args)


def _status(c: Clause, config: RunbookConfig, context: Context, alarms: bool) -> Intent | Clarify:
    service = _service_or_context(c, context, needs_one=False)
    bad_env = _env_trouble(c, config, "status", {"service": service}, change=False)
    if bad_env is not None:
        return bad_env
    if alarms and service:
        return Intent(tool="get_alarms", skill="status", args={"service": service, "environment": c.env})
    return Intent(tool="service_status", skill="status", args={"service": service, "environment": c.env})


def _follow_up(c: Clause, config: RunbookConfig, context: Context,
               earlier: list[Intent | Clarify]) -> Intent | Clarify | None:
    """A part that only names slots: "what about staging?", "ok now prod", "and payments 3.4.2", "then to
    prod", "checkout-api?", or a part with nothing to go on."""
    slots = bool(c.services or c.envs or c.versions or c.span)
    last = context.get() if slots and (FOLLOW_UP.search(c.text) or earlier or len(c.body.split()) <= 3) else None
    if last is not None:
        args = dict(last.args)
        if c.services:
            args["service"] = c.service
        if c.envs:
            args["environment"] = _target_env(c) if last.is_change else c.env
        if c.versions and "version" in args:
            args["version"] = c.versions[0].value
        if last.tool == "investigate" and c.span is not None:
            args["window_minutes"] = min(c.span.minutes, MAX_WINDOW)
        return Intent(tool=last.tool, skill=last.skill, args=args, topic=last.topic,
                      conditional=bool(CONDITION.search(c.body)) or last.conditional)
    if c.service and len(c.body.split()) <= 4:  # "checkout-api?" reads as a status question
        return Intent(tool="service_status", skill="status", args={"service": c.service, "environment": c.env})
    if c.envs and len(c.body.split()) <= 3 and not earlier:  # "prod?"
        return Intent(tool="service_status", skill="status", args={"service": None, "environment": c.env})
    return None
