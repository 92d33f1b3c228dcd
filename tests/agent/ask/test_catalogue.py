"""The catalogue: each capability declared once, and everything else (schemas, router, evals) reads it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import agent.router
import agent.toolkit
from agent.conversation import ask
from agent.intents import Compound, Intent
from agent.runtime import runtime_as
from agent.tools import CATALOGUE
from tools.config import sandbox_default_config

ROOT = Path(agent.toolkit.__file__).parent


def test_every_capability_is_one_declaration() -> None:
    for cap in CATALOGUE:
        assert cap.kind in ("read", "request") and cap.skill and cap.description, cap.name
        schema = cap.schema()
        assert schema["name"] == cap.name and schema["input_schema"] == {
            k: v for k, v in cap.args.model_json_schema().items() if k not in ("title", "description")}
    assert CATALOGUE.skill_of("request_rollback") == "rollback" and CATALOGUE.skill_of("nope") == "none"


def test_the_machinery_knows_no_tool_and_no_module_imports_the_catalogue_back() -> None:
    toolkit = ast.parse((ROOT / "toolkit.py").read_text())
    imported = {n.module for n in ast.walk(toolkit) if isinstance(n, ast.ImportFrom)}
    assert "agent.tools" not in imported  # no cycle: the catalogue imports the machinery, never the reverse
    for name in ("tool_requests.py", "tool_recall.py", "tool_answers.py"):
        tree = ast.parse((ROOT / name).read_text())
        runtime_imports = {n.module for n in tree.body if isinstance(n, ast.ImportFrom)}
        assert "agent.tools" not in runtime_imports, name


@pytest.mark.parametrize("text", ["Show errors for checkout-api last 10 minutes", "deploy checkout 1.2.4 to staging",
                                  "status of payments and then roll it back", "which runbook covers Redis errors?"])
def test_the_router_names_only_catalogue_tools_with_valid_arguments(text: str) -> None:
    routing = agent.router.route(text, sandbox_default_config())
    parts = routing.parts if isinstance(routing, Compound) else [routing]
    for part in parts:
        if isinstance(part, Intent):
            cap = CATALOGUE[part.tool]
            assert cap.skill == part.skill
            cap.validate(part.args)  # the same arguments the model would have to pass


def test_the_router_runs_once_per_question(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = agent.router.route

    def counted(text, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(text)
        return real(text, *args, **kwargs)

    monkeypatch.setattr(agent.router, "route", counted)
    config = sandbox_default_config()
    ask("roll back checkout-api in staging", "once", runtime_as("dev", config), model=None)
    ask("is checkout-api healthy?", "once", runtime_as("dev", config), model=None)
    assert calls == ["roll back checkout-api in staging", "is checkout-api healthy?"]
