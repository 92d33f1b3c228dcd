"""The model client: Claude through the `anthropic` SDK (API key or Bedrock). Imported lazily.

`make_model(config)` returns None when no model is configured: the agent then uses the offline router.
`ClaudeModel.call` turns every way a real API fails into one sentence (`ModelError`): HTTP errors with
the API's or Bedrock's message, a 200 whose body is no Messages reply, missing AWS region, credentials
or profile. It retries 429/5xx/529 and timeouts itself, honouring `retry-after` only while it fits the
question's `Deadline`: a question never hangs past its deadline.

Tests forbid requests to any host but this machine with `ALLOW_MODEL_REQUESTS = False` (tests/conftest.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from tools.config import AgentConfig

ALLOW_MODEL_REQUESTS = True  # False: only loopback hosts (local stand-ins) may be called
RETRYABLE = {408, 409, 429, 500, 502, 503, 504, 529}
BACKOFF_SECONDS = (0.5, 2.0, 4.0, 8.0)
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class ModelError(Exception):
    """The model API failed; the message is one sentence."""


class ModelRequestsForbidden(ModelError):
    """A request to a real model host while ALLOW_MODEL_REQUESTS is False (tests)."""


@dataclass
class Deadline:
    """How long one question may take, all model calls and retry waits included."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock()

    def remaining(self) -> float:
        return self.seconds - (self.clock() - self.started)


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
        return "\n".join(block.get("text") or "" for block in self.content if block.get("type") == "text").strip()

    @property
    def empty(self) -> bool:
        """No text and no tool call: nothing to show, nothing to store."""
        return not self.text and not self.tool_calls

    @property
    def truncated(self) -> bool:
        return self.stop_reason == "max_tokens"


@dataclass
class ClaudeModel:
    """A thin wrapper over `client.messages.create`; `client` is an Anthropic or AnthropicBedrock."""

    client: Any
    model: str
    max_tokens: int = 1024
    max_retries: int = 2
    timeout_seconds: float = 60.0
    deadline_seconds: float = 45.0
    calls: int = field(default=0)

    def call(self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
             deadline: Deadline | None = None) -> ModelReply:
        import anthropic

        check_host(self.client)
        deadline = deadline or Deadline(self.deadline_seconds)
        attempt = 0
        while True:
            left = deadline.remaining()
            if left <= 0.05:
                raise ModelError(f"The model did not answer within this question's deadline ({deadline.seconds:g} s).")
            self.calls += 1
            try:
                client = self.client.with_options(timeout=min(self.timeout_seconds, left), max_retries=0)
                response = client.messages.create(model=self.model, max_tokens=self.max_tokens, system=system,
                                                  messages=messages, tools=tools)
            except anthropic.APIStatusError as exc:
                what = f"The model API answered {exc.status_code}: {_message(exc)}"
                wait = _retry_after(exc.response) if exc.status_code in RETRYABLE else None
                if exc.status_code not in RETRYABLE or attempt >= self.max_retries:
                    raise ModelError(f"{what}.") from None
                attempt += 1
                self._wait(deadline, wait, attempt, what)
                continue
            except anthropic.APIResponseValidationError:
                raise ModelError("The model API answered with a body that is not a Messages reply.") from None
            except (anthropic.APITimeoutError, anthropic.APIConnectionError) as exc:
                cause = exc.__cause__ or exc.__context__
                if _aws_trouble(cause) or _aws_trouble(exc):
                    raise ModelError(_aws_sentence(cause or exc)) from None
                what = ("The model API did not answer in time" if isinstance(exc, anthropic.APITimeoutError)
                        else "The model API could not be reached")
                if attempt >= self.max_retries:
                    raise ModelError(f"{what}.") from None
                attempt += 1
                self._wait(deadline, None, attempt, what)
                continue
            except ValueError as exc:  # a JSON content type with a body that is not JSON
                if _aws_trouble(exc):
                    raise ModelError(_aws_sentence(exc)) from None
                raise ModelError("The model API answered with a body that is not a Messages reply.") from None
            except Exception as exc:  # Bedrock signs requests with botocore: missing credentials or profile
                if _aws_trouble(exc):
                    raise ModelError(_aws_sentence(exc)) from None
                raise
            return _reply(response)

    def _wait(self, deadline: Deadline, wait: float | None, attempt: int, what: str) -> None:
        pause = wait if wait is not None else BACKOFF_SECONDS[min(attempt - 1, len(BACKOFF_SECONDS) - 1)]
        if pause >= deadline.remaining() - 0.5:
            asked = f" and asked to retry after {pause:g} s" if wait is not None else ""
            raise ModelError(f"{what}{asked}, past this question's deadline ({deadline.seconds:g} s).")
        deadline.sleep(pause)


def _reply(response: Any) -> ModelReply:
    content = getattr(response, "content", None)
    if not isinstance(content, list):
        raise ModelError("The model API answered with a body that is not a Messages reply.")
    blocks = [block.model_dump(mode="json", exclude_none=True) if hasattr(block, "model_dump") else dict(block)
              for block in content]
    usage = getattr(response, "usage", None)
    return ModelReply(content=blocks, stop_reason=getattr(response, "stop_reason", None),
                      input_tokens=getattr(usage, "input_tokens", 0) or 0,
                      output_tokens=getattr(usage, "output_tokens", 0) or 0)


def _retry_after(response: Any) -> float | None:
    """Seconds the API asked us to wait (`retry-after-ms` or `retry-after`), if it said."""
    headers = getattr(response, "headers", None) or {}
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            continue
    return None


def _message(exc: Any) -> str:
    """The API's own words: `{"error": {"message"}}` (Anthropic) or `{"message"}` (Bedrock)."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"]).rstrip(".")
        for key in ("message", "Message"):
            if body.get(key):
                return str(body[key]).rstrip(".")
    response = getattr(exc, "response", None)
    kind = getattr(response, "headers", {}).get("x-amzn-errortype", "") if response is not None else ""
    return kind.split(":")[0] or exc.__class__.__name__


def _aws_trouble(exc: BaseException | None) -> bool:
    if exc is None:
        return False
    name = type(exc).__name__
    return name in ("NoCredentialsError", "ProfileNotFound", "NoRegionError", "PartialCredentialsError") or (
        isinstance(exc, RuntimeError) and "credentials" in str(exc).lower())


def _aws_sentence(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "ProfileNotFound":
        return f"The AWS profile for Bedrock was not found ({exc}); check agent.profile in runbook.yaml or AWS_PROFILE."
    if name == "NoRegionError":
        return "No AWS region for Bedrock: set agent.region in runbook.yaml or AWS_REGION."
    return ("No AWS credentials for Bedrock: configure the AWS credential chain (AWS_PROFILE, agent.profile in"
            " runbook.yaml, or access keys) and try again.")


def check_host(client: Any) -> None:
    """Refuse a request to a real host when ALLOW_MODEL_REQUESTS is False (every test)."""
    if ALLOW_MODEL_REQUESTS:
        return
    host = urlsplit(str(getattr(client, "base_url", ""))).hostname or ""
    if host not in _LOOPBACK:
        raise ModelRequestsForbidden(f"Model requests to {host or 'a real host'} are forbidden here (tests).")


def provider_for(config: AgentConfig) -> str:
    """anthropic, bedrock or offline, as the config and the environment say."""
    if config.provider == "auto":
        return "anthropic" if os.environ.get(config.api_key_env) else "offline"
    return config.provider


def make_model(config: AgentConfig, max_retries: int | None = None, base_url: str | None = None) -> ClaudeModel | None:
    """The configured model, or None for the offline router. `base_url`: a stand-in of the API (tests)."""
    provider = provider_for(config)
    if provider == "offline":
        return None
    import anthropic

    retries = config.max_retries if max_retries is None else max_retries
    options = {"max_tokens": config.max_tokens, "max_retries": retries, "timeout_seconds": config.timeout_seconds,
               "deadline_seconds": config.deadline_seconds}
    if provider == "bedrock":
        try:
            bedrock = anthropic.AnthropicBedrock(aws_region=config.region, aws_profile=config.profile, max_retries=0,
                                                 timeout=config.timeout_seconds, base_url=base_url)
        except ValueError:
            raise ModelError("agent.provider is 'bedrock' but no AWS region is set: set agent.region in runbook.yaml"
                             " or AWS_REGION.") from None
        except Exception as exc:
            if _aws_trouble(exc):
                raise ModelError(_aws_sentence(exc)) from None
            raise
        return ClaudeModel(client=bedrock, model=config.bedrock_model, **options)  # type: ignore[arg-type]
    key = os.environ.get(config.api_key_env)
    if not key:
        raise ModelError(f"agent.provider is 'anthropic' but {config.api_key_env} is not set.")
    client = anthropic.Anthropic(api_key=key, max_retries=0, timeout=config.timeout_seconds, base_url=base_url)
    return ClaudeModel(client=client, model=config.model, **options)  # type: ignore[arg-type]
