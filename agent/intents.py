"""What the offline router makes of a request. Plain pydantic values: they are checkpointed with the session.

    Intent       run one tool of the catalogue with these arguments
    Clarify      ask back: which version, which service, a name that is not configured, an ambiguity
    Refuse       the request is to get around a gate (approve, deny, skip, bypass, force): no, and why
    Unsupported  no capability does that (restart, scale, chit-chat): say what runbook can do instead
    Compound     several parts: the read parts run; a change part is never run as part of a compound,
                 the answer says what it needs (and a later "do it" confirms it)
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

ClarifyKind = Literal["missing_version", "missing_service", "unknown_service", "ambiguous"]


class Intent(BaseModel):
    kind: Literal["intent"] = "intent"
    tool: str  # a capability of agent.tools.CATALOGUE
    skill: str
    args: dict[str, Any]
    topic: str | None = None  # what it is about, for a later "has this happened before?"
    notes: list[str] = Field(default_factory=list)  # said with the answer ("the window is capped at 24 h")
    proposal: dict[str, Any] | None = None  # a change the asker named without asking for it yet (an Intent)
    conditional: bool = False  # a change said under a condition ("if it's fine, deploy ...")

    @property
    def is_change(self) -> bool:
        return self.skill in ("deploy", "rollback")


class Clarify(BaseModel):
    kind: Literal["clarify"] = "clarify"
    clarify: ClarifyKind
    skill: str  # the skill the request is for (deploy, rollback, ...)
    args: dict[str, Any] = Field(default_factory=dict)  # what was given
    question: str  # what is asked back, one or two sentences
    options: list[str] = Field(default_factory=list)  # known names or versions to choose from


class Refuse(BaseModel):
    kind: Literal["refuse"] = "refuse"
    reason: str


class Unsupported(BaseModel):
    kind: Literal["unsupported"] = "unsupported"
    reason: str


class Compound(BaseModel):
    kind: Literal["compound"] = "compound"
    parts: list[Intent | Clarify]

    @property
    def skills(self) -> list[str]:
        return [p.skill for p in self.parts]


Routing = Intent | Clarify | Refuse | Unsupported | Compound


def label(routing: Routing) -> str:
    """The skill as the evals name it: the intent's skill, or clarify / refuse / unsupported / compound."""
    return routing.skill if isinstance(routing, Intent) else routing.kind


def load(data: dict[str, Any] | None) -> Routing | None:
    """A routing read back from a checkpoint."""
    if not data:
        return None
    kinds = {"intent": Intent, "clarify": Clarify, "refuse": Refuse, "unsupported": Unsupported,
             "compound": Compound}
    model = kinds.get(str(data.get("kind", "intent")))
    return model.model_validate(data) if model else None  # type: ignore[attr-defined]
