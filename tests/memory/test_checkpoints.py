"""LangGraph checkpoints in runbook's own database: SqliteSaver on the same file, PostgresSaver on PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypedDict

from pydantic import BaseModel

from memory.checkpoints import chat_thread, checkpoint_serde, deploy_thread, open_checkpointer
from memory.database import default_database_url
from memory.scratchpad import Scratchpad
from tests.memory.conftest import raw_connection


class Flow(TypedDict, total=False):
    steps: list[str]
    decision: str


class Probe(BaseModel):
    name: str


def approval_graph() -> Any:
    from langgraph.graph import END, START, StateGraph
    from langgraph.types import interrupt

    graph = StateGraph(Flow)
    graph.add_node("before", lambda state: {"steps": [*state.get("steps", []), "before"]})
    graph.add_node("gate", lambda state: {"decision": interrupt("approve?")})
    graph.add_node("after", lambda state: {"steps": [*state["steps"], "after:" + state["decision"]]})
    graph.add_edge(START, "before")
    graph.add_edge("before", "gate")
    graph.add_edge("gate", "after")
    graph.add_edge("after", END)
    return graph


def test_thread_ids_carry_their_kind() -> None:
    assert deploy_thread("dep-20261126-1510-a1b2") == "deploy:dep-20261126-1510-a1b2"
    assert chat_thread("terminal") == "chat:terminal"
    assert deploy_thread("x") != chat_thread("x")  # a session named like a deployment cannot collide


def test_a_deploy_interrupted_in_one_saver_resumes_in_another(database_url: str) -> None:
    from langgraph.types import Command

    thread = {"configurable": {"thread_id": deploy_thread("dep-1")}}
    with open_checkpointer(database_url) as saver:
        first = approval_graph().compile(checkpointer=saver).invoke({"steps": []}, thread)
        assert first["__interrupt__"]
    with open_checkpointer(database_url) as saver:  # e.g. `runbook resume` on another machine
        app = approval_graph().compile(checkpointer=saver)
        assert app.get_state(thread).next == ("gate",)
        done = app.invoke(Command(resume="approved"), thread)
        assert done["steps"] == ["before", "after:approved"]
        assert app.get_state(thread).next == ()
        assert len(list(saver.list(thread))) >= 4
        other = {"configurable": {"thread_id": chat_thread("dep-1")}}
        assert app.get_state(other).values == {}  # same name, other kind: another thread


def test_on_sqlite_the_checkpoints_live_in_the_store_file(tmp_path: Path) -> None:
    state = tmp_path / "state"
    url = default_database_url(state)
    with open_checkpointer(url) as saver:  # first use of the folder: the store is made too
        conn = saver.conn  # type: ignore[attr-defined]
        assert conn.execute("PRAGMA busy_timeout").fetchone() == (30000,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        approval_graph().compile(checkpointer=saver).invoke(
            {"steps": []}, {"configurable": {"thread_id": deploy_thread("dep-1")}})
    assert sorted(p.name for p in state.iterdir() if not p.name.endswith(("-wal", "-shm"))) == ["runbook.db"]
    raw = sqlite3.connect(state / "runbook.db")
    tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    threads = {row[0] for row in raw.execute("SELECT DISTINCT thread_id FROM checkpoints")}
    raw.close()
    assert {"checkpoints", "writes", "deployments", "runbook_migrations"} <= tables
    assert threads == {"deploy:dep-1"}
    Scratchpad.in_dir(state)  # and the store still opens on that file


def test_on_postgresql_the_saver_tables_sit_beside_the_store(postgres_url: str) -> None:
    with open_checkpointer(postgres_url) as saver:
        approval_graph().compile(checkpointer=saver).invoke(
            {"steps": []}, {"configurable": {"thread_id": chat_thread("C1-1764170000.1")}})
    with raw_connection(postgres_url) as raw:
        tables = {row[0] for row in raw.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        threads = {row[0] for row in raw.execute("SELECT DISTINCT thread_id FROM checkpoints")}
    assert {"checkpoints", "checkpoint_writes", "checkpoint_migrations", "deployments"} <= tables
    assert threads == {"chat:C1-1764170000.1"}


def test_the_serializer_constructs_only_the_types_it_is_told() -> None:
    probe = Probe(name="canary")
    typed = checkpoint_serde().dumps_typed(probe)
    assert checkpoint_serde([Probe]).loads_typed(typed) == probe
    assert not isinstance(checkpoint_serde().loads_typed(typed), Probe)  # strict: left as plain data


RACE_SETUP = """
OPEN_AFTER_GO = True

def RACE(pad, name):
    from memory.checkpoints import deploy_thread, open_checkpointer
    with open_checkpointer(pad.url) as saver:
        found = list(saver.list({"configurable": {"thread_id": deploy_thread(name)}}))
    return {"found": len(found)}
"""


def test_processes_setting_up_checkpoints_at_once_all_succeed(
    database_url: str, race: Callable[[str, str, int], list[dict[str, Any]]]
) -> None:
    assert race(database_url, RACE_SETUP, 4) == [{"found": 0}] * 4
