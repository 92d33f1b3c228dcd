"""What a request names: services, environments, versions, and the names it uses that are not configured.

People write "checkout", "the notifications worker", "notif worker", "paymnets", "checkout-api:1.2.4";
they name services that do not exist ("billing-api") and environments that do not exist ("qa"). Every
finder returns matches in the order said, with where they were said, so that a request with two parts
("deploy checkout 1.2.3 and payments 3.4.2") keeps each name with its part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from agent.router_words import COMMON
from tools.config import RunbookConfig

ENV_ALIASES = {"prod": "production", "prd": "production", "live": "production", "production": "production",
               "stage": "staging", "stg": "staging", "staging": "staging"}
# Names people give environments: a change aimed at one that is not configured must never fall back to
# the default environment (usually production).
ENV_WORDS = {"dev", "develop", "development", "qa", "uat", "test", "testing", "preprod", "pre-prod", "sandbox",
             "demo", "perf", "integration", "int", "canary", "prod-eu", "prod-us", "eu", "us", "local"}
SERVICE_SUFFIXES = {"api", "svc", "service", "worker", "web", "app", "server", "gateway", "job", "cron",
                    "consumer", "producer", "ui", "frontend", "backend", "db", "queue", "proxy"}
NOT_SERVICES = {"auto-rollback", "self-approve", "auto-approve", "follow-up", "roll-back", "roll-out", "pre-checks",
                "post-deploy", "non-prod", "on-call", "health-check", "x-ray"}
_VERSION = re.compile(r"(?<![\w.])(?:v(?:ersion)?\s*)?(?P<v>\d+\.\d+(?:\.\d+)*(?:-[0-9A-Za-z][0-9A-Za-z.]*)?)(?![\w.]*%)"
                      r"(?!\s*(?:ms|s|sec|secs|seconds|m|min|mins|minutes|h|hrs?|hours?|days?|gb|mb|%)\b)", re.I)
_TAG = re.compile(r"(?P<name>[a-z][\w-]*):(?P<v>[0-9A-Za-z][\w.-]*)", re.I)
_WORD = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*", re.I)


@dataclass(frozen=True)
class Found:
    value: str
    start: int
    end: int


def _distance(a: str, b: str, limit: int = 2) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance, stopping early past `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def close_to(word: str, candidates: set[str] | frozenset[str]) -> str | None:
    """The one candidate a typo of `word` is closest to, within distance 1 for words of 5+ letters and 2
    for 9+; None when none is that close, or two are equally close."""
    if len(word) < 5 or word in candidates:
        return None
    limit = 2 if len(word) >= 9 else 1
    scored = sorted((_distance(word, c, limit), c) for c in candidates if abs(len(c) - len(word)) <= limit)
    near = [(d, c) for d, c in scored if d <= limit]
    if not near or (len(near) > 1 and near[1][0] == near[0][0]):
        return None
    return near[0][1]


@lru_cache(maxsize=8)
def service_words(names: tuple[str, ...]) -> dict[str, str]:
    """Words that name one service: its full name, spaced name, and each part of its name that no other
    service shares (4+ letters), e.g. checkout, payments, inventory, notifications, worker."""
    words: dict[str, str] = {}
    parts: dict[str, set[str]] = {}
    for name in names:
        for part in name.lower().split("-"):
            parts.setdefault(part, set()).add(name)
    for part, owners in parts.items():
        if len(owners) == 1 and len(part) >= 4:
            words[part] = next(iter(owners))
            if part.endswith("s") and len(part) > 4:
                words[part[:-1]] = next(iter(owners))  # "payment"
    for name in names:
        words[name.lower()] = name
    return words


def _service_at(token: str, words: dict[str, str]) -> str | None:
    token = token.lower()
    if token in words:
        return words[token]
    if len(token) >= 5 and token not in COMMON:  # a prefix of one distinctive part: "notif", "invent"
        owners = {name for word, name in words.items() if "-" not in word and word.startswith(token)}
        if len(owners) == 1:
            return next(iter(owners))
    near = close_to(token, frozenset(w for w in words if "-" not in w) | frozenset(words))
    return words[near] if near else None


def services(text: str, config: RunbookConfig) -> list[Found]:
    """Configured services named in `text`, in order (each once)."""
    words = service_words(tuple(sorted(config.services)))
    found: list[Found] = []
    taken: list[tuple[int, int]] = []
    lowered = text.lower()
    for full in sorted(config.services, key=len, reverse=True):  # full names first, spaced or hyphenated
        pattern = r"(?<![\w-])" + r"[\s-]".join(map(re.escape, full.lower().split("-"))) + r"(?![\w-])"
        for match in re.finditer(pattern, lowered):
            found.append(Found(full, match.start(), match.end()))
            taken.append((match.start(), match.end()))
    for match in _WORD.finditer(lowered):
        if any(s <= match.start() < e for s, e in taken):
            continue
        token = match.group(0)
        name: str | None = _service_at(token, words) if "-" not in token else None
        if name is None and "-" in token:  # "checkout-svc", "chekout-api": its distinctive part
            head = token.split("-")[0]
            name = _service_at(head, words) if token not in words and len(head) >= 5 else None
        if name:
            found.append(Found(name, match.start(), match.end()))
    found.sort(key=lambda f: f.start)
    seen: set[str] = set()
    return [f for f in found if not (f.value in seen or seen.add(f.value))]  # type: ignore[func-returns-value]


def unknown_services(text: str, config: RunbookConfig, skip: set[str]) -> list[Found]:
    """Names shaped like services that are not configured: "billing-api", "the search service"; `skip`
    holds words the router already understands."""
    words = service_words(tuple(sorted(config.services)))
    found: list[Found] = []
    lowered = text.lower()
    for match in _WORD.finditer(lowered):
        token = match.group(0)
        if "-" not in token or token in NOT_SERVICES or token in ENV_ALIASES or token in ENV_WORDS:
            continue
        if token.rsplit("-", 1)[-1] in SERVICE_SUFFIXES and _service_at(token, words) is None \
                and not services(token, config):
            found.append(Found(token, match.start(), match.end()))
    for match in re.finditer(r"\bthe\s+(?P<name>[a-z][\w-]*)\s+(?:service|api|worker)\b|\bservice\s+(?P<other>[a-z][\w-]*)",
                             lowered):
        name = match.group("name") or match.group("other")
        if name and name not in skip and not services(name, config) and name not in words:
            found.append(Found(name, match.start(), match.end()))
    return found


def object_word(text: str, skip: set[str]) -> Found | None:
    """A lone name at the end of a request after "for"/"of" ("history for search"): said where a service
    goes; None when it is a word the router knows."""
    match = re.search(r"\b(?:for|of)\s+(?:the\s+)?(?P<name>[a-z][\w-]*)\s*[?.!]*\s*$", text.lower())
    if match and match.group("name") not in skip and len(match.group("name")) >= 3:
        return Found(match.group("name"), match.start("name"), match.end("name"))
    return None


def environments(text: str, config: RunbookConfig) -> list[Found]:
    """Configured environments named in `text` (names, aliases, cluster names), in order."""
    found: list[Found] = []
    lowered = text.lower()
    names = {name.lower(): name for name in config.environments}
    names |= {alias: name for alias, name in ENV_ALIASES.items() if name in config.environments}
    names |= {env.cluster.lower(): name for name, env in config.environments.items()}
    for word, name in names.items():
        for match in re.finditer(rf"(?<![\w-]){re.escape(word)}(?![\w-])", lowered):
            if word == "live" and not re.search(r"\b(?:in|to|on|into)\s+$", lowered[: match.start()]):
                continue  # "live" is an environment only as a place: "in live", "to live"
            found.append(Found(name, match.start(), match.end()))
    found.sort(key=lambda f: f.start)
    return found


def unknown_environment(text: str, config: RunbookConfig, skip: set[str], change: bool) -> str | None:
    """An environment the request aims at that is not configured. For a change, any unknown word after
    to/into/in/on counts (a deploy "to qa" must not land in the default); for a read, only words people
    use for environments."""
    lowered = text.lower()
    known = {n.lower() for n in config.environments} | set(ENV_ALIASES) | {e.cluster.lower() for e in config.environments.values()}
    for match in re.finditer(r"\b(?:to|into|in|on)\s+(?:the\s+)?(?P<env>[a-z][\w-]*)(?:\s+(?:env|environment|cluster))?\b",
                             lowered):
        word = match.group("env")
        tail = lowered[match.end():]
        if word in known or word in skip or services(word, config) or re.match(r"v?\d", word) or re.match(r"\.\d", tail):
            continue
        if word in ENV_WORDS or (change and re.match(r"\s*(?:env|environment|cluster)?\s*(?:[?.!,;]|$|please|pls|now|and|then)",
                                                     tail)):
            return word
    return None


def versions(text: str) -> list[Found]:
    """Versions said, in order: "1.2.4", "v2.4.0", "version 3.5.0", "checkout-api:1.2.4"."""
    found = [Found(m.group("v"), m.start("v"), m.end("v")) for m in _VERSION.finditer(text)]
    for match in _TAG.finditer(text):
        if not any(f.start == match.start("v") for f in found) and re.match(r"^v?\d", match.group("v")):
            found.append(Found(match.group("v").lstrip("v"), match.start("v"), match.end("v")))
    found.sort(key=lambda f: f.start)
    return found
