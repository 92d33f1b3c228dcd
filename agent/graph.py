"""The agent graph: understand the request → run a skill (through a tool) → answer, citing the evidence.

    understand ──(tool calls)──▶ run_skill ──(model, steps left)──▶ understand
        │                             │
        └──────(direct answer)──────▶ answer ◀──(offline, or step cap)──┘

With a model, `understand` is a Claude call with the catalogue's schemas; without one (or when the model
fails before any tool ran) it is the offline router's routing, computed once per request by
`agent.conversation` and passed in the state. The state is plain JSON, checkpointed per session.

Only complete turns are stored: a question, the model's tool calls with their results, and a final
assistant text. An empty model reply is never stored; a model failure after a tool ran is answered from
the results already in hand (never by running the tools again) and stored as a complete turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from agent import intents
from agent.model import ClaudeModel, Deadline, ModelError
from agent.offline import OfflinePlan, compose, plan
from agent.toolkit import Catalogue, Toolbox

MAX_TURNS_KEPT = 8  # earlier turns of a session are dropped from what the model sees


class AgentState(TypedDict, total=False):
    question: str
    messages: list[dict[str, Any]]  # the model conversation (Anthropic message dicts), complete turns only
    turn_start: int  # len(messages) before this request's turn
    last_intent: dict[str, Any] | None  # the routing of the session's last request, for follow-ups
    routing: dict[str, Any] | None  # this request's routing (agent.conversation routes once)
    plan: dict[str, Any] | None  # the offline plan: tool calls and the sentences around their results
    pending: list[dict[str, Any]]  # tool calls to run: {"id", "name", "input"}
    results: list[dict[str, Any]]
    steps: int  # model calls in this request
    offline: bool  # this request is answered by the offline router
    stop: str  # why the model's loop ended: end_turn, max_tokens, empty, model_error, step_cap
    notes: list[str]  # said before the answer ("The model API answered 529 ...")
    answer: str
    trace: list[str]  # what --verbose shows: each model call (tokens) and tool call
    usage: dict[str, int]


@dataclass
class AgentContext:
    catalogue: Catalogue
    toolbox: Toolbox
    model: ClaudeModel | None
    system: str
    max_steps: int = 6
    deadline: Deadline | None = None


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


def new_request(question: str, routing: intents.Routing | None) -> AgentState:
    """The per-request fields; `messages` and `last_intent` carry over from the session's checkpoint."""
    return AgentState(question=question, routing=routing.model_dump() if routing else None, plan=None, pending=[],
                      results=[], steps=0, offline=False, stop="", notes=[], answer="", trace=[],
                      usage={"input_tokens": 0, "output_tokens": 0, "model_calls": 0})


def _understand(ctx: AgentContext, state: AgentState) -> dict[str, Any]:
    if ctx.model is None or state.get("offline"):
        return _route_offline(ctx, state, note=None)
    steps = state.get("steps", 0)
    messages = list(state.get("messages") or [])
    update: dict[str, Any] = {}
    if steps == 0:
        messages = _trim(messages)
        update["turn_start"] = len(messages)
        messages.append({"role": "user", "content": state["question"]})
    trace = list(state.get("trace") or [])
    results = state.get("results") or []
    try:
        reply = ctx.model.call(ctx.system, messages, ctx.catalogue.schemas(), ctx.deadline)
    except ModelError as exc:
        trace.append(f"model error: {exc}")
        if not results:  # nothing done yet: the offline router answers, the question is not kept half-done
            kept = messages[: update.get("turn_start", state.get("turn_start", len(messages)))]
            return _route_offline(ctx, {**state, "messages": kept, "trace": trace},
                                  note=f"{exc} Answered with the offline router instead.")
        return {**update, "messages": messages, "trace": trace, "pending": [], "stop": "model_error",
                "notes": [f"{exc} What the tools had found:"]}
    usage = dict(state.get("usage") or {})
    usage["model_calls"] = usage.get("model_calls", 0) + 1
    usage["input_tokens"] = usage.get("input_tokens", 0) + reply.input_tokens
    usage["output_tokens"] = usage.get("output_tokens", 0) + reply.output_tokens
    trace.append(f"model call {usage['model_calls']}: {reply.input_tokens} input + {reply.output_tokens} output"
                 f" tokens, stop: {reply.stop_reason}{' (empty reply)' if reply.empty else ''}")
    update.update(usage=usage, trace=trace, steps=steps + 1)
    if reply.empty:  # never stored: an empty assistant message makes every later request fail
        if not results:
            kept = messages[: update.get("turn_start", state.get("turn_start", len(messages)))]
            return {**update, **_route_offline(ctx, {**state, "messages": kept, "trace": trace},
                                               note="The model returned an empty reply. Answered with the offline"
                                                    " router instead.")}
        return {**update, "messages": messages, "pending": [], "stop": "empty",
                "notes": ["The model returned an empty reply after the tools ran; what they found:"]}
    if reply.truncated:  # a cut-off tool call is never run: its input may be incomplete
        text = reply.text
        cut = (f"(The answer was cut off: the model reached its limit of {ctx.model.max_tokens} output tokens."
               " Ask for less at a time, or raise agent.max_tokens.)")
        return {**update, "messages": messages, "pending": [], "stop": "max_tokens",
                "answer": f"{text}\n\n{cut}" if text else cut}
    messages.append({"role": "assistant", "content": reply.content})
    pending = [{"id": c["id"], "name": c["name"], "input": c.get("input") or {}} for c in reply.tool_calls]
    return {**update, "messages": messages, "pending": pending, "stop": reply.stop_reason or "end_turn",
            "answer": "" if pending else reply.text}


def _route_offline(ctx: AgentContext, state: AgentState, note: str | None) -> dict[str, Any]:
    routing = intents.load(state.get("routing"))
    trace = list(state.get("trace") or [])
    if routing is None:
        routing = intents.Unsupported(reason="I could not tell what you are asking for.")
    offline = plan(routing, ctx.toolbox.config)
    trace.append(f"offline router: {intents.label(routing)}"
                 + (f" via {', '.join(c['name'] for c in offline.calls)}" if offline.calls else ""))
    return {"offline": True, "trace": trace, "messages": state.get("messages") or [], "pending": offline.calls,
            "plan": {"calls": offline.calls, "segments": offline.segments},
            "notes": list(state.get("notes") or []) + ([note] if note else [])}


def _run_skill(ctx: AgentContext, state: AgentState) -> dict[str, Any]:
    trace = list(state.get("trace") or [])
    results = list(state.get("results") or [])
    blocks: list[dict[str, Any]] = []
    for call in state.get("pending") or []:
        result = ctx.toolbox.run(call["name"], call["input"])
        shown = ", ".join(f"{k}={v}" for k, v in call["input"].items() if v is not None)
        trace.append(f"tool {call['name']}({shown}) → {'ok' if result.ok else result.status}")
        results.append(result.model_dump(mode="json"))
        blocks.append({"type": "tool_result", "tool_use_id": call["id"], "content": result.for_model(),
                       **({} if result.ok else {"is_error": True})})
    update: dict[str, Any] = {"pending": [], "results": results, "trace": trace}
    if not state.get("offline"):
        update["messages"] = list(state.get("messages") or []) + [{"role": "user", "content": blocks}]
    return update


def _answer(ctx: AgentContext, state: AgentState) -> dict[str, Any]:
    results = list(state.get("results") or [])
    notes = [n for n in state.get("notes") or [] if n]
    messages = list(state.get("messages") or [])
    update: dict[str, Any] = {"last_intent": _remember(state, results)}
    if state.get("offline"):
        saved = state.get("plan") or {}
        body = compose(OfflinePlan(calls=saved.get("calls", []), segments=saved.get("segments", [])), results)
        update["answer"] = "\n".join(notes + [body]).strip() or "I have no answer to that."
        return update
    answer = (state.get("answer") or "").strip()
    stop = state.get("stop") or ""
    if messages and messages[-1]["role"] == "user" and stop not in ("model_error", "empty", "max_tokens"):
        stop = "step_cap"  # tools ran and the model had no call left to read their results
        notes.append(f"I stopped after {state.get('steps', 0)} model calls (the step cap). What the tools found:")
    if not answer:
        answer = "\n\n".join(r["text"] for r in results) or "I have no answer to that."
    answer = "\n".join(notes + [answer]).strip()
    if messages and messages[-1]["role"] == "user":  # close the turn with what was answered
        messages.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
    update.update(answer=answer, stop=stop, messages=[m for m in messages if m.get("content")])
    return update


def _remember(state: AgentState, results: list[dict[str, Any]]) -> dict[str, Any] | None:
    """This request's routing, with what an investigation found as its topic (for "has this happened before?")."""
    routing = state.get("routing")
    if not routing:
        return state.get("last_intent")
    topic = _topic(results)
    if topic and routing.get("kind", "intent") == "intent" and routing.get("tool") == "investigate":
        routing = {**routing, "topic": f"{routing.get('topic') or ''}: {topic}".strip(": ")}
    elif topic and routing.get("kind") == "compound":
        parts = [dict(p) for p in routing.get("parts") or []]
        for part in parts:
            if part.get("tool") == "investigate":
                part["topic"] = f"{part.get('topic') or ''}: {topic}".strip(": ")
        routing = {**routing, "parts": parts}
    return routing


def _topic(results: list[dict[str, Any]]) -> str | None:
    """An investigation's top error signatures (else its alarms): the topic of a follow-up recall."""
    found = next((r["data"] for r in reversed(results) if r["tool"] == "investigate" and r["ok"]), None)
    if not isinstance(found, dict):
        return None
    from skills.investigate_recall import topic_of

    topic = topic_of([e["signature"] for e in found.get("errors") or []]) or [a["name"] for a in found.get("alarms") or []]
    return "; ".join(topic) or None


def _trim(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the last MAX_TURNS_KEPT turns (a turn starts with a user message whose content is text)."""
    starts = [i for i, m in enumerate(messages) if m["role"] == "user" and isinstance(m["content"], str)]
    if len(starts) <= MAX_TURNS_KEPT:
        return messages
    return messages[starts[-MAX_TURNS_KEPT]:]
