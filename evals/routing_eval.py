"""Routing accuracy: each case's request through the offline router (or the model), scored per skill and
per slot, in the schema documented at the top of evals/routing_people.yaml.

    score_set(path, router, show_misses=True) -> Score

A held-out set is scored with `show_misses=False`: only its numbers are printed, never its cases.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# What a router returns for one request: a label (a skill, or clarify/refuse/unsupported/compound) and a
# list of (tool, args) calls it would make: one per part of a compound, none for a refusal.
Routed = tuple[str, list[tuple[str, dict[str, Any]]], dict[str, Any]]
Router = Callable[[str, str | None], Routed]


@dataclass
class Score:
    name: str
    cases: int = 0
    passed: int = 0
    by_skill: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    by_slot: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    misses: list[str] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return 100.0 * self.passed / self.cases if self.cases else 0.0

    def report(self, show_misses: bool, limit: int = 40) -> str:
        lines = [f"routing ({self.name}): {self.passed}/{self.cases} = {self.accuracy:.1f}% exact"]
        skill_ok = sum(v[0] for v in self.by_skill.values())
        lines.append(f"  right skill: {skill_ok}/{self.cases} = {100.0 * skill_ok / max(self.cases, 1):.1f}%")
        lines.append("  per skill (right skill / cases):  " + "  ".join(
            f"{k} {v[0]}/{v[1]}" for k, v in sorted(self.by_skill.items())))
        lines.append("  per slot (right value / cases):   " + "  ".join(
            f"{k} {v[0]}/{v[1]}" for k, v in sorted(self.by_slot.items())))
        if show_misses:
            lines += self.misses[:limit]
            if len(self.misses) > limit:
                lines.append(f"    … and {len(self.misses) - limit} more")
        return "\n".join(lines)


def _defaults(tool: str) -> dict[str, Any]:
    from agent.tools import CATALOGUE

    cap = CATALOGUE.get(tool)
    if cap is None:
        return {}
    return {name: f.default for name, f in cap.args.model_fields.items() if not f.is_required()}


def slot_ok(tool: str, args: dict[str, Any], name: str, expected: Any) -> bool:
    got = args.get(name)
    if expected is None:
        return got is None or got == _defaults(tool).get(name, object())
    if isinstance(expected, dict) and "between" in expected:
        low, high = expected["between"]
        return isinstance(got, int | float) and low <= got <= high
    if isinstance(expected, list):
        return isinstance(got, list) and sorted(map(str, got)) == sorted(map(str, expected))
    return got == expected or str(got) == str(expected)


def score_case(case: dict[str, Any], routed: Routed, score: Score) -> None:
    label, calls, extra = routed
    skill = case["skill"]
    score.cases += 1
    counts = score.by_skill[skill]
    counts[1] += 1
    problems: list[str] = []
    if skill == "compound":
        wanted = [str(p) for p in case.get("parts") or []]
        skill_right = label == "compound" and extra.get("parts") == wanted
    else:  # a model that calls no tool has asked back, refused or declined: right for those three
        skill_right = label == skill or (label == "no tool" and skill in ("clarify", "refuse", "unsupported"))
    if not skill_right:
        problems.append(f"skill {label}{extra.get('parts') or ''}")
    else:
        counts[0] += 1
    if skill == "clarify" and skill_right and label != "no tool" and extra.get("clarify") != case.get("clarify"):
        problems.append(f"clarify {extra.get('clarify')}")
    if case.get("tool") and not any(tool == case["tool"] for tool, _ in calls):
        problems.append(f"tool {[t for t, _ in calls]}")
    expected_args = case.get("args") or {}
    targets = calls if calls else [("", extra.get("args") or {})]
    for name, value in expected_args.items():
        ok = bool(targets) and all(slot_ok(tool, args, name, value) for tool, args in targets)
        slot = score.by_slot[name]
        slot[1] += 1
        slot[0] += int(ok and skill_right)
        if not ok:
            problems.append(f"{name}={[a.get(name) for _, a in targets]}")
    for word in case.get("query_has") or []:
        query = " ".join(str(a.get("query") or "") for _, a in calls).lower()
        slot = score.by_slot["query"]
        slot[1] += 1
        found = str(word).lower() in query
        slot[0] += int(found and skill_right)
        if not found:
            problems.append(f"query lacks {word!r} ({query!r})")
    if problems:
        score.misses.append(f"    ✗ {case['q']!r}" + (f" (after {case['after']!r})" if case.get("after") else "")
                            + f": {'; '.join(problems)}; got {label} {calls or extra.get('args')}")
    else:
        score.passed += 1


def score_set(path: Path, router: Router, name: str) -> Score:
    cases = yaml.safe_load(path.read_text()) or []
    score = Score(name=name)
    for case in cases:
        score_case(case, router(case["q"], case.get("after")), score)
    return score


def route_offline(question: str, after: str | None = None) -> Routed:
    from agent.intents import Clarify, Compound, Intent, label
    from agent.router import route
    from tools.config import sandbox_default_config

    config = sandbox_default_config()
    previous = route(after, config) if after else None
    routing = route(question, config, previous)
    extra: dict[str, Any] = {}
    calls: list[tuple[str, dict[str, Any]]] = []
    if isinstance(routing, Intent):
        calls = [(routing.tool, routing.args)]
    elif isinstance(routing, Clarify):
        extra = {"clarify": routing.clarify, "args": routing.args}
    elif isinstance(routing, Compound):
        extra = {"parts": routing.skills}
        calls = [(p.tool, p.args) for p in routing.parts if isinstance(p, Intent)]
    return label(routing), calls, extra
