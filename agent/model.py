"""The model client: Claude through the `anthropic` SDK (API key or Bedrock). Imported lazily.

`make_model(config)` returns None when no model is configured: the agent then uses the offline router.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from tools.config import AgentConfig


class ModelError(Exception):
    """The model API failed; the message is one sentence."""


@dataclass
class ModelReply:
    content: list[dict[str, Any]]  # Anthropic content blocks as plain dicts (text, tool_use)
    stop_reason: str | None
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        return [block for block in self.content if block.get("type") == "tool_use"]

    @property
    def text(self) -> str:
        return "\n".join(block["text"] for block in self.content if block.get("type") == "text").strip()


@dataclass
class ClaudeModel:
    """A thin wrapper over `client.messages.create`; `client` is an Anthropic or AnthropicBedrock."""

    client: Any
    model: str
    max_tokens: int = 1024
    calls: int = field(default=0)

    def call(self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelReply:
        import anthropic

        self.calls += 1
        try:
            response = self.client.messages.create(model=self.model, max_tokens=self.max_tokens, system=system,
                                                   messages=messages, tools=tools)
        except anthropic.APIStatusError as exc:
            raise ModelError(f"The model API answered {exc.status_code}: {_message(exc)}.") from None
        except anthropic.APIError as exc:
            raise ModelError(f"The model API could not be reached: {exc.__class__.__name__}.") from None
        content = [block.model_dump(mode="json", exclude_none=True) for block in response.content]
        usage = getattr(response, "usage", None)
        return ModelReply(content=content, stop_reason=response.stop_reason,
                          input_tokens=getattr(usage, "input_tokens", 0) or 0,
                          output_tokens=getattr(usage, "output_tokens", 0) or 0)


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"]).rstrip(".")
    return exc.__class__.__name__


def provider_for(config: AgentConfig) -> str:
    """anthropic, bedrock or offline, as the config and the environment say."""
    if config.provider == "auto":
        return "anthropic" if os.environ.get(config.api_key_env) else "offline"
    return config.provider


def make_model(config: AgentConfig, max_retries: int | None = None) -> ClaudeModel | None:
    provider = provider_for(config)
    if provider == "offline":
        return None
    import anthropic

    retries = config.max_retries if max_retries is None else max_retries
    if provider == "bedrock":
        bedrock = anthropic.AnthropicBedrock(aws_region=config.region, max_retries=retries,
                                             timeout=config.timeout_seconds)
        return ClaudeModel(client=bedrock, model=config.bedrock_model, max_tokens=config.max_tokens)
    key = os.environ.get(config.api_key_env)
    if not key:
        raise ModelError(f"agent.provider is 'anthropic' but {config.api_key_env} is not set.")
    client = anthropic.Anthropic(api_key=key, max_retries=retries, timeout=config.timeout_seconds)
    return ClaudeModel(client=client, model=config.model, max_tokens=config.max_tokens)
