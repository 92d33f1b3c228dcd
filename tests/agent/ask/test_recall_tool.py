"""The read-only `recall` tool, the offline router's recall requests, and the lookup a request starts early."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.conversation import ask
from agent.router import Clarify, Intent, route
from agent.runtime import runtime_as
from agent.toolkit import Toolbox
from agent.tools import CATALOGUE
from memory.scratchpad import Scratchpad
from tests.agent.cli_support import fleet_snapshot, run_cli
from tools.config import sandbox_default_config

pytestmark = pytest.mark.recall


def test_recall_cites_file_and_section_and_changes_nothing(tmp_path: Path) -> None:
    config = sandbox_default_config()
    before = fleet_snapshot()
    box = Toolbox(catalogue=CATALOGUE, resources=runtime_as("dev", config), asker="dev")  # reads only
    result = box.run("recall", {"query": "Redis connection errors", "kinds": ["runbook"], "limit": 3})
    assert result.ok, result.text
    assert "redis-connection-errors.md" in result.text and "§" in result.text
    first = result.data["results"][0]
    assert first["kind"] == "runbook" and first["cite"].startswith("redis-connection-errors.md")
    assert "untrusted_text" in first  # a document's text is data for the model, never instructions
    assert not box.run("recall", {"query": "x", "kinds": ["nonsense"]}).ok
    unknown = box.run("recall", {"query": "deploys", "service": "nope-api"})
    assert not unknown.ok and "nope-api" in unknown.text
    assert fleet_snapshot() == before
    with Scratchpad.in_dir(config.state_path()) as pad:
        assert pad.pending_approvals() == []


def test_router_understands_recall_requests() -> None:
    config = sandbox_default_config()
    runbook = route("which runbook covers Redis connection errors?", config)
    assert isinstance(runbook, Intent) and runbook.tool == "recall"
    assert runbook.args == {"query": "Redis connection errors", "kinds": ["runbook"], "service": None, "limit": 5}
    last = route("what went wrong the last time we deployed payments-api?", config)
    assert isinstance(last, Intent) and last.args["kinds"] == ["deployment", "postmortem"]
    assert last.args["service"] == "payments-api"
    assert isinstance(route("has this happened before?", config), Clarify)  # before what? it asks back
    previous = Intent(tool="investigate", skill="investigate", args={"service": "checkout-api"},
                      topic="OutOfMemoryError: Java heap space")
    again = route("has this happened before?", config, previous)
    assert isinstance(again, Intent) and again.tool == "recall"
    assert again.args["service"] == "checkout-api" and again.args["query"] == "OutOfMemoryError: Java heap space"
    assert route("roll back checkout-api", config).tool == "request_rollback"  # type: ignore[union-attr]


def test_has_this_happened_before_follows_the_conversation() -> None:
    config = sandbox_default_config()
    config.knowledge.wait_seconds = 600  # the first lookup indexes the knowledge: wait for it, however busy
    first = ask("Show errors for payments-api last 10 minutes", "s1", runtime_as("dev", config), model=None)
    assert "payments-api-5xx-rate" in first.answer and "postmortem" in first.answer  # recalled alongside
    reply = ask("has this happened before?", "s1", runtime_as("dev", config), model=None)
    assert reply.tools == ["recall"]
    [call] = [line for line in reply.trace if line.startswith("tool recall(")]
    assert "service=payments-api" in call and ("card processor" in call or "retry budget" in call), call
    assert "postmortem" in reply.answer and "§" in reply.answer


def test_a_lookup_starts_with_requests_that_recall_only(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    started: list[str] = []
    monkeypatch.setattr(Toolbox, "start_recall_early", lambda self: started.append("early"))
    config = sandbox_default_config()
    ask("is checkout-api healthy?", "r1", runtime_as("dev", config), model=None)
    assert started == []
    ask("any postmortems about OOM?", "r2", runtime_as("dev", config), model=None)
    assert started == ["early"]


def test_ask_cli_answers_a_runbook_question_offline() -> None:
    result = run_cli("ask", "which runbook covers Redis connection errors?", "--verbose")
    assert result.exit_code == 0, result.output
    assert "tool recall(query=Redis connection errors, kinds=['runbook']" in result.output
    assert "redis-connection-errors.md" in result.output
