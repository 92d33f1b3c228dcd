"""The model path at the graph level, with a scripted model: what real models do that a happy path does not."""

from __future__ import annotations

from typing import Any

from agent.conversation import ask
from agent.model import ModelError
from agent.runtime import runtime_as
from tests.agent.model.scripted import ScriptedModel, after_tools, empty, reply, text, tool
from tools.config import sandbox_default_config

QUESTION = "Show errors for checkout-api last 10 minutes"
INVESTIGATE = tool("investigate", {"service": "checkout-api", "window_minutes": 10})


def _ask(model: Any, question: str = QUESTION, session: str = "m1", **more: Any):  # type: ignore[no-untyped-def]
    config = sandbox_default_config()
    for key, value in more.items():
        setattr(config.agent, key, value)
    return ask(question, session, runtime_as("dev", config), model=model)


def test_an_empty_reply_after_a_tool_result_is_answered_from_the_tools_and_never_stored() -> None:
    model = ScriptedModel(lambda messages, tools: empty() if after_tools(messages) else reply(INVESTIGATE))
    first = _ask(model)
    assert "step cap" not in first.answer
    assert "empty reply" in first.answer and "error log events" in first.answer
    assert first.tools == ["investigate"] and first.model_calls == 2
    # the next request of the session sends a valid conversation (ScriptedModel checks the API's rules)
    follow = ScriptedModel(lambda messages, tools: reply(text("The same errors as before.")))
    second = _ask(follow, "and is it still happening?")
    assert second.answer == "The same errors as before."
    sent = follow.requests[0]
    assert [m["role"] for m in sent][-1] == "user" and all(m["content"] for m in sent)


def test_an_empty_first_reply_falls_back_to_the_offline_router() -> None:
    reply_ = _ask(ScriptedModel(lambda messages, tools: empty()))
    assert "empty reply" in reply_.answer and "offline router" in reply_.answer
    assert reply_.tools == ["investigate"] and "error log events" in reply_.answer


def test_a_truncated_answer_says_it_is_truncated() -> None:
    def script(messages, tools):  # type: ignore[no-untyped-def]
        if after_tools(messages):
            return reply(text("checkout-api shows 3 signatures: the first is"), stop="max_tokens")
        return reply(INVESTIGATE)

    answer = _ask(ScriptedModel(script)).answer
    assert answer.startswith("checkout-api shows 3 signatures: the first is")
    assert "cut off" in answer and "max_tokens" in answer


def test_a_truncated_tool_call_is_not_run() -> None:
    answer = _ask(ScriptedModel(lambda m, t: reply(text("Let me look"), INVESTIGATE, stop="max_tokens")))
    assert "cut off" in answer.answer and answer.tools == []


def test_a_model_error_after_a_tool_call_answers_once_and_keeps_a_whole_turn() -> None:
    def script(messages, tools):  # type: ignore[no-untyped-def]
        if after_tools(messages):
            raise ModelError("The model API answered 529: Overloaded.")
        return reply(INVESTIGATE)

    first = _ask(ScriptedModel(script))
    assert first.tools == ["investigate"]  # the offline router did not run it a second time
    assert first.answer.count("error log events") == 1
    assert first.answer.startswith("The model API answered 529: Overloaded.")
    follow = ScriptedModel(lambda messages, tools: reply(text("ok")))
    _ask(follow, "thanks, and the hour before?")
    sent = follow.requests[0]
    assert [m["role"] for m in sent] == ["user", "assistant", "user", "assistant", "user"]
    assert sent[3]["content"][0]["text"].startswith("The model API answered 529")


def test_a_model_error_before_any_tool_keeps_nothing_half_done() -> None:
    def fail(messages, tools):  # type: ignore[no-untyped-def]
        raise ModelError("The model API could not be reached.")

    first = _ask(ScriptedModel(fail))
    assert first.answer.startswith("The model API could not be reached. Answered with the offline router")
    assert first.answer.count("error log events") == 1 and first.tools == ["investigate"]
    follow = ScriptedModel(lambda messages, tools: reply(text("ok")))
    _ask(follow, "and now?")
    assert [m["role"] for m in follow.requests[0]] == ["user"]  # the failed question was not kept


def test_the_step_cap_is_reported_only_when_it_is_hit() -> None:
    loop = ScriptedModel(lambda messages, tools: reply(INVESTIGATE))
    capped = _ask(loop, max_steps=2)
    assert capped.answer.startswith("I stopped after 2 model calls (the step cap)")
    assert capped.tools == ["investigate", "investigate"]


def test_two_tools_in_one_turn_and_a_bad_argument() -> None:
    def script(messages, tools):  # type: ignore[no-untyped-def]
        if after_tools(messages):
            results = messages[-1]["content"]
            assert [r.get("is_error", False) for r in results] == [False, True]
            return reply(text("Healthy; the second call had a bad window."))
        return reply(tool("service_status", {"service": "checkout-api"}, "t1"),
                     tool("get_metrics", {"service": "checkout-api", "window_minutes": 99999}, "t2"))

    answer = _ask(ScriptedModel(script), "is checkout-api ok?")
    assert answer.answer == "Healthy; the second call had a bad window."
    assert answer.tools == ["service_status", "get_metrics"]
