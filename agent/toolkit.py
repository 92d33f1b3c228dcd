"""The machinery behind the catalogue of capabilities (`agent.tools`): a capability is declared once, as a
function with a typed argument model, and that one declaration serves the model's tool schemas, the
offline router, the evals and any other door that lists what runbook can do.

    @capability(skill="status", kind="read")
    def service_status(box: Toolbox, args: StatusArgs) -> ToolResult:
        \"\"\"What the model reads about the tool.\"\"\"

Nothing here knows a particular tool, and nothing here imports a skill: bodies import what they need
when they run, so listing the catalogue (for `--help`, the router, a schema) stays cheap.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ValidationError

if TYPE_CHECKING:
    from memory.recall_lookup import RecallLookup
    from skills.resources import Resources
    from tools.config import RunbookConfig

Kind = Literal["read", "request"]
Status = Literal["ok", "no_data", "error", "refused", "started"]


class ToolResult(BaseModel):
    """What a tool found, for people (`text`) and for the model (`data`, as JSON).

    `status` separates "found nothing" (no_data) from "could not look" (error) and from "not allowed"
    (refused). A request tool also says how the change ended (`outcome`, `exit_code`) and why (`reason`).
    """

    tool: str
    ok: bool
    text: str
    data: Any = None
    status: Status = "ok"
    outcome: str | None = None  # request tools: memory.outcome.Outcome value
    exit_code: int | None = None  # request tools: the exit code `runbook deploy` would have ended with
    reason: str = ""  # why it ended so ("1.2.2 already runs in production", "nobody decided in time")

    @classmethod
    def failed(cls, tool: str, text: str, status: Status = "error") -> ToolResult:
        return cls(tool=tool, ok=False, text=text, status=status, reason=text)

    def for_model(self) -> str:
        """The tool_result content the model reads."""
        if self.ok:
            return to_json(self.data)
        body: dict[str, Any] = {"error": self.text, "status": self.status}
        if self.outcome:
            body.update(outcome=self.outcome, exit_code=self.exit_code, reason=self.reason, details=self.data)
        return to_json(body)


@dataclass(frozen=True)
class Capability:
    """One tool: its name, the skill it belongs to, whether it only reads or requests a change, the
    pydantic model of its arguments and the function that runs it."""

    name: str
    skill: str
    kind: Kind
    args: type[BaseModel]
    run: Callable[[Toolbox, Any], ToolResult]
    description: str

    def schema(self) -> dict[str, Any]:
        """The Messages API tool definition."""
        schema = self.args.model_json_schema()
        schema.pop("title", None)
        schema.pop("description", None)
        return {"name": self.name, "description": self.description, "input_schema": schema}

    def validate(self, raw: dict[str, Any]) -> BaseModel:
        return self.args.model_validate(raw)


def capability(skill: str, kind: Kind) -> Callable[[Callable[..., ToolResult]], Capability]:
    """Declare a tool: the function's name is the tool's name, its docstring the model's description, and
    the annotation of its `args` parameter the argument model."""

    def declare(function: Callable[..., ToolResult]) -> Capability:
        hints = inspect.signature(function, eval_str=True).parameters
        args = hints["args"].annotation
        if not (isinstance(args, type) and issubclass(args, BaseModel)):
            raise TypeError(f"{function.__name__}: `args` must be annotated with a pydantic model")
        description = inspect.cleandoc(function.__doc__ or args.__doc__ or "")
        return Capability(name=function.__name__, skill=skill, kind=kind, args=args, run=function,
                          description=description)

    return declare


class Catalogue:
    """Every capability, in declaration order."""

    def __init__(self, capabilities: Iterable[Capability]) -> None:
        self._by_name: dict[str, Capability] = {}
        for cap in capabilities:
            if cap.name in self._by_name:
                raise ValueError(f"capability {cap.name!r} is declared twice")
            self._by_name[cap.name] = cap

    @classmethod
    def collect(cls, *modules: ModuleType) -> Catalogue:
        """The capabilities declared at the top level of these modules."""
        return cls(value for module in modules for value in vars(module).values() if isinstance(value, Capability))

    def __iter__(self) -> Iterator[Capability]:
        return iter(self._by_name.values())

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(self, name: str) -> Capability | None:
        return self._by_name.get(name)

    def __getitem__(self, name: str) -> Capability:
        return self._by_name[name]

    def names(self, kind: Kind | None = None, skill: str | None = None) -> list[str]:
        return [c.name for c in self if (kind is None or c.kind == kind) and (skill is None or c.skill == skill)]

    def skill_of(self, name: str) -> str:
        cap = self._by_name.get(name)
        return cap.skill if cap else "none"

    def schemas(self) -> list[dict[str, Any]]:
        return [c.schema() for c in self]


NOT_ASKED = ("the person asking did not ask for a change in their own message. Say what you found and let"
             " them ask for it explicitly.")


@dataclass
class Toolbox:
    """Runs capabilities for one asker. Whether a request tool may run is decided from the asker's own
    words (`allow_requests`, with `refusal` saying why not), never from the model's.

    Everything a capability opens comes from `resources` (the runtime: config, store, `backend(env)`,
    recall settings) and from `recall()`; nothing here opens a backend, a store or recall itself."""

    catalogue: Catalogue
    resources: Resources
    asker: str
    allow_requests: bool = False
    refusal: str = NOT_ASKED
    # The one change the person's own message asked for (the router's Intent of it): a request tool runs
    # only with that tool, that service, that environment (the default one when they named none) and, for
    # a deploy, that version. None with allow_requests: any (tests that exercise a skill directly).
    asked: Any = None
    # Where a requested deploy or rollback runs when the door cannot wait for it: spawn(job) runs
    # job(resources) -> ToolResult later, on a runtime of its own (the Slack bot's deploy pool). None:
    # the change runs here, to its end, and its result is the tool's.
    spawn: Callable[[Callable[[Resources], ToolResult]], None] | None = None
    on_event: Callable[[Any], None] = field(default=lambda event: None)
    recall_lookup: RecallLookup | None = None  # started with the request; the first tool that recalls takes it

    @property
    def config(self) -> RunbookConfig:
        return self.resources.config

    @property
    def recall_wait(self) -> float:
        """How long a finished investigation waits for its lookup."""
        return float(self.resources.recall_settings.wait_seconds)

    def recall(self) -> RecallLookup:
        """A recall lookup: the one started with the request while unused, else a new one."""
        from memory.recall_lookup import recall_with

        lookup, self.recall_lookup = self.recall_lookup, None
        return lookup if lookup is not None else recall_with(self.resources.recall_settings)

    def start_recall_early(self) -> None:
        """Start a lookup now, for a request that will likely recall: loading chromadb and the model in a
        child process overlaps with the rest of the request. Never fails (the tool starts its own)."""
        from agent.tool_recall import prestart

        if self.recall_lookup is None:
            self.recall_lookup = prestart(self.resources.recall_settings)

    def close(self) -> None:
        """Give up a lookup started for nothing (the answer did not need it)."""
        if self.recall_lookup is not None:
            self.recall_lookup.close()
            self.recall_lookup = None

    def run(self, name: str, raw: dict[str, Any]) -> ToolResult:
        from memory.errors import UserError

        cap = self.catalogue.get(name)
        if cap is None:
            return ToolResult.failed(name, f"There is no tool called {name!r}.")
        try:
            args = cap.validate(raw if isinstance(raw, dict) else {})
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error.get("loc", ())) or "arguments"
            return ToolResult.failed(name, f"Bad arguments for {name}: {where}: {error['msg']}.")
        if cap.kind == "request" and not self.allow_requests:
            return ToolResult.failed(name, f"Refused: {name} starts a change, and {self.refusal}", status="refused")
        if cap.kind == "request" and self.asked is not None:
            mismatch = self._not_asked(name, args)
            if mismatch:
                return ToolResult.failed(name, f"Refused: {mismatch}", status="refused")
        try:
            return cap.run(self, args)
        except UserError as exc:  # a change that could not even start ends as its command would (exit 2, ...)
            failed = ToolResult.failed(name, str(exc))
            if cap.kind == "request":
                failed.exit_code = exc.exit_code
            return failed


    def _not_asked(self, name: str, args: Any) -> str | None:
        """Why this request is not the change the person asked for (None: it is)."""
        asked = self.asked
        want = dict(asked.args)
        default = self.config.default_environment

        def env(value: Any) -> Any:
            return value or default

        got = args.model_dump() if hasattr(args, "model_dump") else dict(args)
        said = f"they asked for {asked.tool} of {want.get('service')}" + (
            f" {want['version']}" if want.get("version") else "") + f" in {env(want.get('environment'))}"
        if name != asked.tool:
            return f"{name} is not the change the person asked for ({said}); only that one may be requested."
        for slot in ("service", "version", "to_version"):
            if slot in got and got.get(slot) != want.get(slot):
                return (f"{slot} {got.get(slot)!r} is not what the person named ({said}); a request runs only"
                        " with the service, environment and version of their own words.")
        if env(got.get("environment")) != env(want.get("environment")):
            return (f"environment {env(got.get('environment'))!r} is not what the person named ({said}); a request"
                    " runs only with the service, environment and version of their own words.")
        return None


def to_json(value: Any, limit: int = 12000) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[:limit] + "…(truncated)"
