"""One entry point for every door that talks: `runbook ask`, `runbook chat` and the Slack bot.

    ask(question, session_id, runtime) -> Reply

A session (a terminal session, a Slack thread) keeps its conversation in a LangGraph checkpoint in the
shared database (thread `chat:<session>`), so follow-ups ("and the hour before?") work across calls,
processes and people.
The offline router runs once per request, here, before the graph: its routing decides whether a request
tool may run (the asker's own words), whether recall is started early, and, without a model, the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agent.runtime import Runtime
    from agent.toolkit import Catalogue

_UNSET: Any = object()


@dataclass
class Reply:
    answer: str
    trace: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)  # tools called, in order
    model_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    offline: bool = True
    routed: str = ""  # the router's label: a skill, clarify, refuse, unsupported or compound
    exit_code: int = 0  # a deploy or rollback's exit code (that of `runbook deploy`); 0 otherwise
    results: list[dict[str, Any]] = field(default_factory=list)


def _refusal(routing: Any) -> str:
    from agent.intents import Compound, Refuse
    from agent.toolkit import NOT_ASKED

    if isinstance(routing, Compound):
        return ("this request has several parts, and a change is never started as part of a larger request."
                " Answer the other parts and say what the change needs: the person asks for it on its own.")
    if isinstance(routing, Refuse):
        return "the request asks to get around a gate, which nothing here can do. Say so."
    return NOT_ASKED


def _previous(saver: Any, thread: dict[str, Any]) -> Any:
    from agent import intents

    saved = saver.get_tuple(thread)
    values = (saved.checkpoint.get("channel_values") or {}) if saved else {}
    try:
        return intents.load(values.get("last_intent"))
    except ValueError:  # a routing written by another version of runbook: start afresh
        return None


def ask(question: str, session_id: str, runtime: Runtime, model: Any = _UNSET,
        on_event: Callable[[Any], None] | None = None, now: datetime | None = None,
        catalogue: Catalogue | None = None, spawn: Callable[..., Any] | None = None) -> Reply:
    """Answer one request of `runtime.user` in a session. `model`: a ClaudeModel, None for offline,
    default from config. `catalogue`: the capabilities (agent.tools.CATALOGUE; evals pass recorded ones).
    `spawn`: where a requested deploy runs when the door cannot wait for it (the Slack bot's pool);
    None: it runs here, to its end."""
    runtime.state_dir.mkdir(parents=True, exist_ok=True)
    from agent.intents import Compound, Intent
    from agent.router import asks_for_change, route
    from agent.toolkit import Toolbox
    from agent.tools import CATALOGUE
    from memory.checkpoints import chat_thread

    thread = {"configurable": {"thread_id": chat_thread(session_id)}}
    with ExitStack() as stack:
        savers: list[Any] = []

        def saver() -> Any:  # LangGraph loads when the routing needs the session, else after recall started
            if not savers:
                from agent.lean_imports import skip_unused_modules

                skip_unused_modules()
                savers.append(stack.enter_context(runtime.checkpointer()))
            return savers[0]

        toolbox: Toolbox | None = None
        try:
            routing = route(question, runtime.config, lambda: _previous(saver(), thread), now)
            toolbox = Toolbox(catalogue=CATALOGUE if catalogue is None else catalogue, resources=runtime,
                              asker=runtime.user, allow_requests=asks_for_change(routing), refusal=_refusal(routing),
                              asked=routing if asks_for_change(routing) else None, spawn=spawn,
                              on_event=on_event or (lambda event: None))
            parts = routing.parts if isinstance(routing, Compound) else [routing]
            if any(isinstance(p, Intent) and p.tool in ("investigate", "recall") for p in parts):
                toolbox.start_recall_early()  # chromadb loads in a child process while LangGraph loads here
            return _run(question, session_id, runtime, model, routing, toolbox, saver(), thread)
        finally:
            if toolbox is not None:
                toolbox.close()


def _run(question: str, session_id: str, runtime: Runtime, model: Any, routing: Any, toolbox: Any,
         saver: Any, thread: dict[str, Any]) -> Reply:
    from agent.graph import AgentContext, build_graph, new_request
    from agent.intents import label
    from agent.model import Deadline, ModelError, make_model
    from agent.prompts import system_prompt

    config = runtime.config
    note = ""
    if model is _UNSET:
        try:
            model = make_model(config.agent)
        except ModelError as exc:
            model, note = None, f"{exc} Using the offline router.\n"
    ctx = AgentContext(catalogue=toolbox.catalogue, toolbox=toolbox, model=model, system=system_prompt(config),
                       max_steps=config.agent.max_steps,
                       deadline=Deadline(config.agent.deadline_seconds) if model is not None else None)
    app = build_graph(ctx).compile(checkpointer=saver)
    state = app.invoke(new_request(question, routing), {**thread, "recursion_limit": 4 * ctx.max_steps + 10})
    usage = state.get("usage") or {}
    results = list(state.get("results") or [])
    codes = [r["exit_code"] for r in results if r.get("exit_code") is not None]
    return Reply(answer=note + state.get("answer", ""), trace=list(state.get("trace") or []),
                 tools=[r["tool"] for r in results], model_calls=int(usage.get("model_calls", 0)),
                 input_tokens=int(usage.get("input_tokens", 0)), output_tokens=int(usage.get("output_tokens", 0)),
                 offline=bool(state.get("offline", True)), routed=label(routing), exit_code=codes[-1] if codes else 0,
                 results=results)


def answer(question: str, session_id: str, runtime: Runtime, spawn: Callable[..., Any] | None = None) -> str:
    """The answer to `question` from `runtime.user` in session `session_id` (e.g. a Slack thread's ts)."""
    return ask(question, session_id, runtime, spawn=spawn).answer
