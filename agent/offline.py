"""The offline answer to a routed request: which tools run, and the sentences around their results.

    Intent       its tool, then its notes
    Clarify      the question asked back (for a missing version, with the registry's recent tags)
    Refuse       why not, and what to do instead
    Unsupported  what runbook can do instead
    Compound     each read part's tool in order; each change part is *not started*, and the answer says
                 what it needs (ask for it on its own), so that a later "do it" can confirm it
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agent.intents import Clarify, Compound, Intent, Refuse, Routing, Unsupported
from agent.prompts import offline_help
from tools.config import RunbookConfig

Segment = str | int  # text, or the index of a tool call whose result goes there


@dataclass
class OfflinePlan:
    calls: list[dict[str, Any]] = field(default_factory=list)  # {"id", "name", "input"}
    segments: list[Segment] = field(default_factory=list)

    def call(self, name: str, args: dict[str, Any]) -> None:
        self.segments.append(len(self.calls))
        self.calls.append({"id": f"offline-{len(self.calls) + 1}", "name": name, "input": args})

    def say(self, text: str) -> None:
        if text:
            self.segments.append(text)


def request_sentence(intent: Intent, config: RunbookConfig) -> str:
    """The change as a person would ask for it on its own: "deploy payments-api 3.4.2 to production"."""
    args = intent.args
    env = args.get("environment") or config.default_environment
    if intent.skill == "deploy":
        return f"deploy {args['service']} {args['version']}" + (f" to {env}" if env else "")
    to = f" to {args['to_version']}" if args.get("to_version") else ""
    return f"roll back {args['service']}{to}" + (f" in {env}" if env else "")


def _not_started(intent: Intent, config: RunbookConfig, number: int, total: int) -> str:
    what = request_sentence(intent, config)
    position = f" (part {number} of {total} of your request)" if total > 1 else ""
    if intent.conditional:
        return (f"Not started: {what}{position}. It depends on a condition that is yours to judge from what is"
                f" above; if it holds, ask for it on its own — \"{what}\" — and it will run every gate and wait"
                " for a person's approval. (Or reply \"do it\".)")
    return (f"Not started: {what}{position}. I never start a change that is only part of a larger request: ask"
            f" for it on its own — \"{what}\" — and it will run every gate and wait for a person's approval."
            " (Or reply \"do it\".)")


def plan(routing: Routing, config: RunbookConfig) -> OfflinePlan:
    out = OfflinePlan()
    if isinstance(routing, Intent):
        out.call(routing.tool, routing.args)
        for note in routing.notes:
            out.say(note)
    elif isinstance(routing, Clarify):
        _clarify(out, routing, config)
    elif isinstance(routing, Refuse):
        out.say(routing.reason)
    elif isinstance(routing, Unsupported):
        out.say(routing.reason)
        out.say(offline_help())
    elif isinstance(routing, Compound):
        total = len(routing.parts)
        for number, part in enumerate(routing.parts, 1):
            if isinstance(part, Clarify):
                out.say(part.question)
            elif part.is_change:
                out.say(_not_started(part, config, number, total))
            else:
                out.call(part.tool, part.args)
                for note in part.notes:
                    out.say(note)
    return out


def _clarify(out: OfflinePlan, routing: Clarify, config: RunbookConfig) -> None:
    out.say(routing.question)
    service = routing.args.get("service")
    if routing.clarify == "missing_version" and service in config.services:
        out.call("image_versions", {"service": service, "limit": 6})
        env = routing.args.get("environment") or config.default_environment
        out.say(f"Then ask, e.g. \"deploy {service} <version>" + (f" to {env}\"." if env else "\"."))


def compose(plan_: OfflinePlan, results: list[dict[str, Any]]) -> str:
    texts: list[str] = []
    for segment in plan_.segments:
        if isinstance(segment, int):
            if segment < len(results):
                texts.append(str(results[segment]["text"]))
        else:
            texts.append(segment)
    return "\n\n".join(t for t in texts if t.strip())
