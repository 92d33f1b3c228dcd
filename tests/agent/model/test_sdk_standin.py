"""The model client through the real anthropic SDK against a local stand-in of the Messages API: the
wire format, the error shapes, retry-after under a deadline, Bedrock's errors and the global switch."""

from __future__ import annotations

import anthropic
import pytest

import agent.model
from agent.conversation import ask
from agent.model import ClaudeModel, Deadline, ModelError, ModelRequestsForbidden, make_model
from agent.runtime import runtime_as
from tests.agent.model.standin import bedrock_error, error, messages_api, raw, reply, text, tool_use
from tools.config import AgentConfig, sandbox_default_config

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture(autouse=True)
def _fresh_aws_sessions():  # type: ignore[no-untyped-def]
    """The SDK caches one boto3 session per (profile, region): each test resolves credentials afresh."""
    from anthropic.lib.aws import _auth

    _auth._get_session.cache_clear()
    yield
    _auth._get_session.cache_clear()


class FakeTime:
    """A clock the deadline reads and a sleep that only advances it: no test waits on the wall clock."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _model(base_url: str, retries: int = 2) -> ClaudeModel:
    client = anthropic.Anthropic(api_key="sk-test", base_url=base_url, max_retries=0)
    return ClaudeModel(client=client, model="claude-sonnet-4-6", max_retries=retries)


def test_a_reply_and_its_usage_come_through_the_sdk() -> None:
    with messages_api() as api:
        api.script(reply(text("hello"), usage=(12, 3)))
        got = _model(api.base_url).call("system", MESSAGES, [])
    assert (got.text, got.stop_reason, got.input_tokens, got.output_tokens) == ("hello", "end_turn", 12, 3)
    assert api.requests[0]["path"] == "/v1/messages" and api.requests[0]["body"]["messages"] == MESSAGES


def test_http_200_with_a_body_that_is_not_json_is_one_sentence() -> None:
    with messages_api() as api:
        api.script(raw(200, "<html><body>502 Bad Gateway</body></html>"),
                   raw(200, "{not json", content_type="application/json"))
        model = _model(api.base_url, retries=0)
        for _ in range(2):
            with pytest.raises(ModelError, match="not a Messages reply"):
                model.call("system", MESSAGES, [])


def test_retry_after_is_honoured_within_the_deadline_and_never_past_it() -> None:
    clock = FakeTime()
    with messages_api() as api:
        limited = error(429, "rate_limit_error", "Number of request tokens has exceeded your rate limit",
                        {"retry-after": "20"})
        api.script(limited, limited, reply(text("late")))
        model = _model(api.base_url, retries=5)
        with pytest.raises(ModelError) as caught:
            model.call("system", MESSAGES, [], Deadline(30, clock=clock.clock, sleep=clock.sleep))
    assert clock.slept == [20.0]  # honoured once; the second would end past the 30 s deadline
    assert len(api.requests) == 2
    assert "429" in str(caught.value) and "retry after 20 s" in str(caught.value) and "30 s" in str(caught.value)


def test_an_overloaded_api_is_retried_then_answers() -> None:
    clock = FakeTime()
    with messages_api() as api:
        api.script(error(529, "overloaded_error", "Overloaded"), error(500, "api_error", "Internal server error"),
                   reply(text("fine now")))
        got = _model(api.base_url).call("s", MESSAGES, [], Deadline(60, clock=clock.clock, sleep=clock.sleep))
    assert got.text == "fine now" and len(clock.slept) == 2 and sum(clock.slept) < 10


def test_an_api_error_keeps_the_apis_own_message() -> None:
    with messages_api() as api:
        api.script(error(400, "invalid_request_error", "max_tokens: must be greater than 0."))
        with pytest.raises(ModelError, match=r"^The model API answered 400: max_tokens: must be greater than 0\.$"):
            _model(api.base_url).call("s", MESSAGES, [])


def test_bedrock_error_bodies_keep_their_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    with messages_api() as api:
        api.script(bedrock_error(403, "AccessDeniedException",
                                 "You don't have access to the model with the specified model ID."))
        model = make_model(AgentConfig(provider="bedrock", region="eu-west-1"), max_retries=0, base_url=api.base_url)
        assert model is not None
        with pytest.raises(ModelError) as caught:
            model.call("s", MESSAGES, [])
    assert str(caught.value) == ("The model API answered 403: You don't have access to the model with the"
                                 " specified model ID.")
    assert api.requests[0]["path"].startswith("/model/") and "authorization" in {k.lower() for k in api.requests[0]["headers"]}


def test_bedrock_missing_region_credentials_or_profile_are_one_sentence(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ModelError, match=r"^agent.provider is 'bedrock' but no AWS region is set"):
        make_model(AgentConfig(provider="bedrock"))
    with pytest.raises(ModelError, match=r"AWS profile for Bedrock was not found.*agent.profile"):
        make_model(AgentConfig(provider="bedrock", profile="nope"))
    with messages_api() as api:
        api.script(reply(text("unreachable")))
        model = make_model(AgentConfig(provider="bedrock", region="eu-west-1"), max_retries=0, base_url=api.base_url)
        assert model is not None
        with pytest.raises(ModelError, match=r"^No AWS credentials for Bedrock"):
            model.call("s", MESSAGES, [])
        model = make_model(AgentConfig(provider="bedrock", region="eu-west-1", profile="nope"), max_retries=0,
                           base_url=api.base_url)
        assert model is not None
        with pytest.raises(ModelError, match=r"AWS profile for Bedrock was not found"):
            model.call("s", MESSAGES, [])
    assert api.requests == []  # nothing was sent unsigned


def test_ask_with_a_broken_bedrock_config_answers_offline_in_one_sentence(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    config = sandbox_default_config()
    config.agent.provider = "bedrock"
    got = ask("is checkout-api healthy?", "b1", runtime_as("dev", config))
    assert got.answer.startswith("agent.provider is 'bedrock' but no AWS region is set")
    assert "checkout-api (production)" in got.answer


def test_the_conversation_an_empty_reply_leaves_is_accepted_by_the_api() -> None:
    """The stand-in rejects what the real API rejects: an empty stored reply would fail every later turn."""
    config = sandbox_default_config()
    with messages_api() as api:
        api.script(reply(tool_use("service_status", {"service": "checkout-api"})), reply(stop="end_turn"),
                   reply(text("Still healthy.")))
        model = _model(api.base_url)
        first = ask("is checkout-api healthy?", "e1", runtime_as("dev", config), model=model)
        second = ask("still?", "e1", runtime_as("dev", config), model=model)
    assert "empty reply" in first.answer and second.answer == "Still healthy."
    assert [r["body"]["messages"][-1]["role"] for r in api.requests] == ["user", "user", "user"]


def test_requests_to_real_hosts_are_forbidden_in_tests() -> None:
    assert agent.model.ALLOW_MODEL_REQUESTS is False
    client = anthropic.Anthropic(api_key="sk-test", max_retries=0)  # the real API's host
    with pytest.raises(ModelRequestsForbidden):
        ClaudeModel(client=client, model="claude-sonnet-4-6").call("s", MESSAGES, [])
