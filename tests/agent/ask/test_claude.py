"""The Claude path through the real anthropic SDK, replayed from cassettes (no network)."""

from __future__ import annotations

from agent.conversation import ask
from agent.runtime import runtime_as
from memory.scratchpad import Scratchpad
from tests.agent.cli_support import fleet_snapshot
from tools.config import sandbox_default_config


def test_tool_use_round_trip(cassette, claude) -> None:  # type: ignore[no-untyped-def]
    config = sandbox_default_config()
    with cassette("tool_use_round_trip") as tape:
        reply = ask("Show errors for checkout-api last 10 minutes", "c1", runtime_as("dev", config),
                    model=claude)
    assert tape.play_count == 2 and reply.model_calls == 2
    assert reply.tools == ["investigate"] and not reply.offline
    assert "Evidence" in reply.answer and "checkout-api" in reply.answer
    assert (reply.input_tokens, reply.output_tokens) == (1850 + 3420, 96 + 88)
    assert any("investigate(service=checkout-api" in line for line in reply.trace)
    store = Scratchpad.in_dir(config.state_path())
    try:
        assert len(store.list_investigations("checkout-api")) == 1  # the skill logged it
    finally:
        store.close()


def test_api_error_falls_back_to_the_offline_router(cassette, claude) -> None:  # type: ignore[no-untyped-def]
    config = sandbox_default_config()
    with cassette("api_error") as tape:
        reply = ask("Show errors for checkout-api last 10 minutes", "c2", runtime_as("dev", config),
                    model=claude)
    assert tape.play_count == 1
    assert reply.answer.startswith("The model API answered 529: Overloaded.")
    assert "offline router" in reply.answer and "error log events" in reply.answer
    assert reply.tools == ["investigate"] and reply.offline


def test_a_rollback_the_logs_asked_for_is_refused(cassette, claude) -> None:  # type: ignore[no-untyped-def]
    config = sandbox_default_config()
    before = fleet_snapshot()
    with cassette("injected_log_lines") as tape:
        reply = ask("Why is checkout-api throwing errors? last 10 minutes", "c3", runtime_as("dev", config), model=claude)
    assert tape.play_count == 3
    assert reply.tools == ["get_error_logs", "request_rollback"]
    assert any("request_rollback" in line and "refused" in line for line in reply.trace)
    assert fleet_snapshot() == before
    store = Scratchpad.in_dir(config.state_path())
    try:
        assert store.list_deployments() == [] and store.pending_approvals() == []
    finally:
        store.close()


def test_the_step_cap_stops_the_loop(cassette, claude) -> None:  # type: ignore[no-untyped-def]
    config = sandbox_default_config()
    config.agent.max_steps = 1
    with cassette("tool_use_round_trip") as tape:
        reply = ask("Show errors for checkout-api last 10 minutes", "c4", runtime_as("dev", config),
                    model=claude)
    assert tape.play_count == 1 and reply.model_calls == 1
    assert reply.answer.startswith("I stopped after 1 model calls")
