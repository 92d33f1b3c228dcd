"""The agent graph: understand the request → run a skill (through a tool) → answer, citing the evidence.

    understand ──(tool calls)──▶ run_skill ──(model, steps left)──▶ understand
        │                             │
        └──────(direct answer)──────▶ answer ◀──(offline, or step cap)──┘

With a model, `understand` is a Claude call with the tool schemas; without one, the offline router.
The graph's state is plain JSON, checkpointed per session (a terminal session, a Slack thread).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from agent.model import ClaudeModel, ModelError
from agent.prompts import offline_help
from agent.router import Intent, route
from agent.tools import Toolbox, to_json, tool_schemas
from tools.config import RunbookConfig

MAX_TURNS_KEPT = 8  # earlier turns of a session are dropped from what the model sees


class AgentState(TypedDict, total=False):
    question: str
    messages: list[dict[str, Any]]  # the model conversation (Anthropic message dicts)
    last_intent: dict[str, Any] | None  # the offline router's last intent, for follow-ups
    pending: list[dict[str, Any]]  # tool calls to run: {"id", "name", "input"}
    results: list[dict[str, Any]]
    steps: int  # model calls in this request
    offline: bool  # this request is answered by the offline router
    answer: str
    trace: list[str]  # what --verbose shows: each model call (tokens) and tool call
    usage: dict[str, int]


@dataclass
class AgentContext:
    config: RunbookConfig
    toolbox: Toolbox
    model: ClaudeModel | None
    system: str
    max_steps: int = 6


def build_graph(ctx: AgentContext):  # type: ignore[no-untyped-def]
    from langgraph.graph import END, START, StateGraph

    graph = StateGraph(AgentState)
    graph.add_node("understand", lambda state: _understand(ctx, state))
    graph.add_node("run_skill", lambda state: _run_skill(ctx, state))
    graph.add_node("answer", lambda state: _answer(ctx, state))
    graph.add_edge(START, "understand")
    graph.add_conditional_edges("understand", lambda s: "run_skill" if s.get("pending") else "answer",
                                ["run_skill", "answer"])
    graph.add_conditional_edges(
        "run_skill",
        lambda s: "understand" if not s.get("offline") and s.get("steps", 0) < ctx.max_steps else "answer",
        ["understand", "answer"])
    graph.add_edge("answer", END)
    return graph


def new_request(question: str) -> AgentState:
    """The per-request fields; `messages` and `last_intent` carry over from the session's checkpoint."""
    return AgentState(question=question, pending=[], results=[], steps=0, offline=False, answer="", trace=[],
                      usage={"input_tokens": 0, "output_tokens": 0, "model_calls": 0})


def _understand(ctx: AgentContext, state: AgentState) -> dict[str, Any]:
    if ctx.model is None or state.get("offline"):
        return _route_offline(ctx, state, note=None)
    messages = list(state.get("messages") or [])
    if state.get("steps", 0) == 0:
        messages = _trim(messages) + [{"role": "user", "content": state["question"]}]
    trace = list(state.get("trace") or [])
    try:
        reply = ctx.model.call(ctx.system, messages, tool_schemas())
    except ModelError as exc:
        trace.append(f"model error: {exc}")
        if state.get("steps", 0) == 0:
            messages = messages[:-1]  # the question was not answered by the model: do not keep it half-done
        return _route_offline(ctx, {**state, "messages": messages, "trace": trace},
                              note=f"{exc} Answered with the offline router instead.")
    usage = dict(state.get("usage") or {})
    usage["model_calls"] = usage.get("model_calls", 0) + 1
    usage["input_tokens"] = usage.get("input_tokens", 0) + reply.input_tokens
    usage["output_tokens"] = usage.get("output_tokens", 0) + reply.output_tokens
    trace.append(f"model call {usage['model_calls']}: {reply.input_tokens} input + {reply.output_tokens} output"
                 f" tokens, stop: {reply.stop_reason}")
    messages.append({"role": "assistant", "content": reply.content})
    pending = [{"id": c["id"], "name": c["name"], "input": c.get("input") or {}} for c in reply.tool_calls]
    return {"messages": messages, "pending": pending, "steps": state.get("steps", 0) + 1, "trace": trace,
            "usage": usage, "answer": "" if pending else reply.text}


def _route_offline(ctx: AgentContext, state: AgentState, note: str | None) -> dict[str, Any]:
    previous = state.get("last_intent")
    intent = route(state["question"], ctx.config, Intent.model_validate(previous) if previous else None)
    trace = list(state.get("trace") or [])
    prefix = f"{note}\n" if note else ""
    if not isinstance(intent, Intent):
        trace.append(f"offline router: no intent ({intent.reason})")
        return {"offline": True, "pending": [], "trace": trace, "messages": state.get("messages") or [],
                "answer": f"{prefix}{intent.reason}\n{offline_help()}"}
    trace.append(f"offline router: {intent.skill} via {intent.tool}")
    return {"offline": True, "trace": trace, "last_intent": intent.model_dump(), "answer": prefix,
            "messages": state.get("messages") or [],
            "pending": [{"id": "offline-1", "name": intent.tool, "input": intent.args}]}


def _run_skill(ctx: AgentContext, state: AgentState) -> dict[str, Any]:
    trace = list(state.get("trace") or [])
    results = list(state.get("results") or [])
    blocks: list[dict[str, Any]] = []
    for call in state.get("pending") or []:
        result = ctx.toolbox.run(call["name"], call["input"])
        shown = ", ".join(f"{k}={v}" for k, v in call["input"].items() if v is not None)
        trace.append(f"tool {call['name']}({shown}) → {'ok' if result.ok else 'refused/failed'}")
        results.append(result.model_dump(mode="json"))
        payload = result.data if result.ok else {"error": result.text}
        blocks.append({"type": "tool_result", "tool_use_id": call["id"], "content": to_json(payload),
                       **({} if result.ok else {"is_error": True})})
    update: dict[str, Any] = {"pending": [], "results": results, "trace": trace}
    if state.get("offline"):
        texts = [r["text"] for r in results]
        update["answer"] = (state.get("answer") or "") + "\n\n".join(texts)
        topic = _topic(results)
        if topic and state.get("last_intent"):  # what "has this happened before?" refers to next
            update["last_intent"] = {**(state.get("last_intent") or {}), "topic": topic}
    else:
        update["messages"] = list(state.get("messages") or []) + [{"role": "user", "content": blocks}]
    return update


def _topic(results: list[dict[str, Any]]) -> str | None:
    """An investigation's top error signatures (else its alarms): the topic of a follow-up recall."""
    from skills.investigate_recall import topic_of

    found = next((r["data"] for r in reversed(results) if r["tool"] == "investigate" and r["ok"]), None)
    if not isinstance(found, dict):
        return None
    topic = topic_of([e["signature"] for e in found.get("errors") or []]) or [a["name"] for a in found.get("alarms") or []]
    return "; ".join(topic) or None


def _answer(ctx: AgentContext, state: AgentState) -> dict[str, Any]:
    answer = (state.get("answer") or "").strip()
    if not answer and state.get("results"):
        texts = "\n\n".join(r["text"] for r in state.get("results") or [])
        answer = f"I stopped after {state.get('steps', 0)} model calls (the step cap). What the tools found:\n{texts}"
    messages = list(state.get("messages") or [])
    if not state.get("offline") and messages and messages[-1]["role"] == "user":
        messages.append({"role": "assistant", "content": [{"type": "text", "text": answer or "(no answer)"}]})
    return {"answer": answer or "I have no answer to that.", "messages": messages}


def _trim(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the last MAX_TURNS_KEPT turns (a turn starts with a user message whose content is text)."""
    starts = [i for i, m in enumerate(messages) if m["role"] == "user" and isinstance(m["content"], str)]
    if len(starts) <= MAX_TURNS_KEPT:
        return messages
    return messages[starts[-MAX_TURNS_KEPT]:]
