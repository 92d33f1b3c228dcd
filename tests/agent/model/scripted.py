"""A scripted model for the graph (as pydantic-ai's FunctionModel): a function of the conversation so far
returns the next reply, or raises. It stands where `agent.model.ClaudeModel` stands, so every graph path
(tool loops, empty replies, truncation, failures after a tool ran) is tested without any HTTP."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from agent.model import ModelReply

Script = Callable[[list[dict[str, Any]], list[dict[str, Any]]], ModelReply]


def text(value: str) -> dict[str, Any]:
    return {"type": "text", "text": value}


def tool(name: str, args: dict[str, Any], block_id: str = "toolu_1") -> dict[str, Any]:
    return {"type": "tool_use", "id": block_id, "name": name, "input": args}


def reply(*blocks: dict[str, Any], stop: str | None = None) -> ModelReply:
    stop = stop or ("tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn")
    return ModelReply(content=list(blocks), stop_reason=stop, input_tokens=10, output_tokens=5)


def empty() -> ModelReply:
    return ModelReply(content=[], stop_reason="end_turn")


def after_tools(messages: list[dict[str, Any]]) -> bool:
    """Whether the last message carries tool results (the model is asked to read them)."""
    last = messages[-1]["content"]
    return isinstance(last, list) and any(b.get("type") == "tool_result" for b in last)


class ScriptedModel:
    def __init__(self, script: Script, max_tokens: int = 1024) -> None:
        self.script = script
        self.max_tokens = max_tokens
        self.requests: list[list[dict[str, Any]]] = []

    def call(self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
             deadline: Any = None) -> ModelReply:
        assert_valid(messages)
        self.requests.append(copy.deepcopy(messages))
        return self.script(messages, tools)


def assert_valid(messages: list[dict[str, Any]]) -> None:
    """The Messages API's own rules, so a stored half-turn fails here as it fails there (HTTP 400)."""
    roles = [m["role"] for m in messages]
    assert roles[0] == "user", roles
    for i, message in enumerate(messages):
        assert message["content"] or (i == len(messages) - 1 and message["role"] == "assistant"), messages
        if i and roles[i] == roles[i - 1]:
            raise AssertionError(f"two {roles[i]} messages in a row: {roles}")
    for i, message in enumerate(messages[:-1]):
        content = message["content"]
        uses = [b["id"] for b in content if isinstance(content, list) and b.get("type") == "tool_use"]
        if uses:
            after = messages[i + 1]["content"]
            assert sorted(uses) == sorted(b.get("tool_use_id") for b in after if b.get("type") == "tool_result")
