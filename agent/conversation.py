"""One entry point for every door that talks: `runbook ask`, `runbook chat` and the Slack bot.

    answer(question, session_id, asker, config, state_dir) -> str

A session (a terminal session, a Slack thread) keeps its conversation in a LangGraph checkpoint
(SQLite under the state dir), so follow-ups ("and the hour before?") work across calls and processes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tools.config import RunbookConfig

if TYPE_CHECKING:
    from agent.runtime import Runtime
    from memory.recall_settings import RecallSettings

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


def asks_for_change(question: str, config: RunbookConfig) -> bool:
    """Whether the asker's own words request a deploy or rollback (only then may a request tool run)."""
    from agent.router import DEPLOY, QUESTION, ROLLBACK, Intent, route

    intent = route(question, config)
    if isinstance(intent, Intent) and intent.skill in ("deploy", "rollback"):
        return True
    return bool((DEPLOY.search(question) or ROLLBACK.search(question)) and not QUESTION.search(question))


def ask(question: str, session_id: str, runtime: Runtime, model: Any = _UNSET,
        on_event: Callable[[Any], None] | None = None) -> Reply:
    """Answer one request of `runtime.user` in a session. `model`: a ClaudeModel, None for offline,
    default from config."""
    config, asker = runtime.config, runtime.user
    early = _recall_early(question, config, runtime.recall_settings)  # first: it runs beside everything below
    from agent.graph import AgentContext, build_graph, new_request
    from agent.model import ModelError, make_model
    from agent.prompts import system_prompt
    from agent.tools import Toolbox
    from memory.checkpoints import chat_thread

    note = ""
    if model is _UNSET:
        try:
            model = make_model(config.agent)
        except ModelError as exc:
            model, note = None, f"{exc} Using the offline router.\n"
    toolbox = Toolbox(resources=runtime, asker=asker,
                      allow_requests=asks_for_change(question, config),
                      on_event=on_event or (lambda event: None), recall_lookup=early)
    ctx = AgentContext(config=config, toolbox=toolbox, model=model, system=system_prompt(config),
                       max_steps=config.agent.max_steps)
    try:
        with runtime.checkpointer() as saver:  # the session's conversation, in the shared database
            app = build_graph(ctx).compile(checkpointer=saver)
            thread = {"configurable": {"thread_id": chat_thread(session_id)},
                      "recursion_limit": 4 * ctx.max_steps + 10}
            state = app.invoke(new_request(question), thread)
    finally:
        if toolbox.recall_lookup is not None:  # started for nothing: the answer did not need it
            toolbox.recall_lookup.close()
    usage = state.get("usage") or {}
    return Reply(answer=note + state.get("answer", ""), trace=list(state.get("trace") or []),
                 tools=[r["tool"] for r in state.get("results") or []],
                 model_calls=int(usage.get("model_calls", 0)), input_tokens=int(usage.get("input_tokens", 0)),
                 output_tokens=int(usage.get("output_tokens", 0)), offline=bool(state.get("offline", True)))


def _recall_early(question: str, config: RunbookConfig, settings: RecallSettings) -> Any:
    """Start the recall lookup with the request when it will likely need one (an investigation, a recall),
    so loading chromadb and the model overlaps with the rest of the request."""
    from agent.router import Intent, route
    from agent.tool_recall import prestart

    intent = route(question, config)
    if isinstance(intent, Intent) and intent.tool in ("investigate", "recall"):
        return prestart(settings)
    return None


def answer(question: str, session_id: str, runtime: Runtime) -> str:
    """The answer to `question` from `runtime.user` in session `session_id` (e.g. a Slack thread's ts)."""
    return ask(question, session_id, runtime).answer
