"""Upgrading a `.runbook` written by runbook 0.1.0 (tests/memory/fixtures/state-0.1.0): nothing is lost."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from memory.checkpoints import chat_thread, deploy_thread, open_checkpointer
from memory.database import default_database_url, open_store
from memory.errors import StateError
from tests.memory.test_state_errors import assert_one_sentence, snapshot

FIXTURE = Path(__file__).parent / "fixtures" / "state-0.1.0"
OLD_FILES = ("checkpoints.db", "conversations.db", "sandbox.json")


@pytest.fixture
def old_state(tmp_path: Path) -> Path:
    folder = tmp_path / ".runbook"
    shutil.copytree(FIXTURE, folder, ignore=shutil.ignore_patterns("README.md"))
    return folder


def rows(path: Path, query: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.execute(query))
    finally:
        conn.close()


def old_checkpoints(path: Path) -> dict[str, list[Any]]:
    """Every thread of a 0.1.0 checkpoint file, each checkpoint as LangGraph's saver reads it."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    conn = sqlite3.connect(path)
    try:
        saver = SqliteSaver(conn)
        threads = [row[0] for row in conn.execute("SELECT DISTINCT thread_id FROM checkpoints ORDER BY 1")]
        return {thread: _history(saver, thread) for thread in threads}
    finally:
        conn.close()


def _history(saver: Any, thread: str) -> list[tuple[Any, ...]]:
    config = {"configurable": {"thread_id": thread}}
    return [
        (t.config["configurable"]["checkpoint_id"], t.checkpoint, t.metadata, t.pending_writes,
         t.parent_config["configurable"]["checkpoint_id"] if t.parent_config else None)
        for t in saver.list(config)
    ]


def test_every_record_checkpoint_and_the_fleet_survive(old_state: Path) -> None:
    deployments = rows(old_state / "runbook.db", "SELECT id, status, service, to_version FROM deployments")
    events = rows(old_state / "runbook.db", "SELECT deployment_id, count(*) FROM events GROUP BY 1")
    approvals = rows(old_state / "runbook.db", "SELECT id, deployment_id, status FROM approvals")
    investigations = rows(old_state / "runbook.db", "SELECT id, question FROM investigations")
    deploy_threads = old_checkpoints(old_state / "checkpoints.db")
    chat_threads = old_checkpoints(old_state / "conversations.db")
    fleet = (old_state / "sandbox.json").read_text()
    assert len(deployments) == 4 and len(deploy_threads) == 4 and chat_threads.keys() == {"terminal"}

    store = open_store(default_database_url(old_state))

    assert sorted((d.id, d.status, d.service, d.to_version) for d in store.list_deployments(limit=100)) == sorted(
        deployments)
    assert sorted((d, len(store.events(d))) for d, _n in events) == sorted(events)
    assert sorted(
        (a.id, a.deployment_id, a.status) for d, *_ in deployments if (a := store.approval_for_deployment(d))
    ) == sorted(approvals)
    killed = store.get_deployment("dep-5fe654809b")
    assert killed is not None and killed.status == "running"
    pending = store.pending_approvals()
    assert [(a.id, a.deployment_id) for a in pending] == [("apr-bb39e8e197", "dep-5fe654809b")]
    lock = store.get_lock("checkout-api/production")
    assert lock is not None and (lock.holder, lock.deployment_id) == ("bob@old-laptop (pid 5639)", "dep-5fe654809b")
    assert sorted((i.id, i.question) for i in store.list_investigations(limit=100)) == sorted(investigations)
    assert store.read_fleet() == (1, fleet)

    with open_checkpointer(store.url) as saver:
        for thread, history in deploy_threads.items():
            assert thread.startswith("dep-")
            assert _history(saver, deploy_thread(thread)) == history  # same count, same checkpoints
            latest = saver.get_tuple({"configurable": {"thread_id": deploy_thread(thread)}})
            assert latest is not None and latest.checkpoint == history[0][1]
        for thread, history in chat_threads.items():
            assert _history(saver, chat_thread(thread)) == history
        assert _history(saver, "terminal") == [] and _history(saver, "dep-5fe654809b") == []

    # Set aside, never deleted; a second open finds nothing more to do.
    names = {p.name for p in old_state.iterdir()}
    assert {f"{name}.imported" for name in OLD_FILES} <= names
    assert not names & set(OLD_FILES)
    assert (old_state / "sandbox.json.imported").read_text() == fleet
    before = snapshot(old_state)
    again = open_store(default_database_url(old_state))
    assert again.read_fleet() == (1, fleet)
    assert snapshot(old_state) == before


def test_the_killed_deploy_can_be_resumed_from_its_imported_checkpoint(old_state: Path) -> None:
    store = open_store(default_database_url(old_state))
    with open_checkpointer(store.url) as saver:
        latest = saver.get_tuple({"configurable": {"thread_id": deploy_thread("dep-5fe654809b")}})
    assert latest is not None
    values = latest.checkpoint["channel_values"]
    assert values["approval_id"] == "apr-bb39e8e197" and values["lock_acquired"] is True


def test_importing_again_after_a_crash_adds_nothing_twice(old_state: Path) -> None:
    url = default_database_url(old_state)
    open_store(url)
    count = rows(old_state / "runbook.db", "SELECT count(*) FROM checkpoints")[0][0]
    writes = rows(old_state / "runbook.db", "SELECT count(*) FROM writes")[0][0]
    for name in OLD_FILES:  # as if the process died after the commit, before the renames
        shutil.copy(old_state / f"{name}.imported", old_state / name)
    open_store(url)
    assert rows(old_state / "runbook.db", "SELECT count(*) FROM checkpoints")[0][0] == count
    assert rows(old_state / "runbook.db", "SELECT count(*) FROM writes")[0][0] == writes
    assert {f"{name}.imported-2" for name in OLD_FILES} <= {p.name for p in old_state.iterdir()}


def test_a_folder_with_only_a_sandbox_fleet_is_imported(tmp_path: Path) -> None:
    # 0.1.0's `runbook sandbox reset` wrote sandbox.json and no database: nothing of history is lost.
    folder = tmp_path / ".runbook"
    folder.mkdir()
    shutil.copy(FIXTURE / "sandbox.json", folder / "sandbox.json")
    store = open_store(default_database_url(folder))
    assert store.read_fleet() == (1, (FIXTURE / "sandbox.json").read_text())
    assert store.list_deployments() == []
    assert (folder / "sandbox.json.imported").is_file() and not (folder / "sandbox.json").exists()


def test_a_fleet_already_in_the_database_is_kept(old_state: Path) -> None:
    url = default_database_url(old_state)
    open_store(url).replace_fleet('{"newer": true}')
    shutil.copy(FIXTURE / "sandbox.json", old_state / "sandbox.json")
    store = open_store(url)
    assert store.read_fleet() == (2, '{"newer": true}')
    assert (old_state / "sandbox.json").is_file()  # not imported, so not marked as imported


def test_a_damaged_old_checkpoint_file_is_refused_and_left_alone(old_state: Path) -> None:
    (old_state / "checkpoints.db").write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(StateError) as caught:
        open_store(default_database_url(old_state))
    assert_one_sentence(str(caught.value), old_state / "checkpoints.db")
    assert {p.name for p in old_state.iterdir()} >= set(OLD_FILES)  # nothing set aside
    assert rows(old_state / "runbook.db", "SELECT count(*) FROM checkpoints") == [(0,)]  # nothing imported
    assert rows(old_state / "runbook.db", "SELECT count(*) FROM runbook_documents") == [(0,)]


def test_a_sandbox_fleet_that_is_not_json_is_refused(old_state: Path) -> None:
    (old_state / "sandbox.json").write_text('{"format_version": 1, "seed": ')  # cut short
    with pytest.raises(StateError) as caught:
        open_store(default_database_url(old_state))
    assert_one_sentence(str(caught.value), old_state / "sandbox.json")
    assert (old_state / "checkpoints.db").is_file() and (old_state / "conversations.db").is_file()


def test_an_old_checkpoint_file_damaged_inside_is_named(old_state: Path) -> None:
    path = old_state / "conversations.db"
    data = bytearray(path.read_bytes())
    page = 4096
    data[3 * page:] = b"\xff" * (len(data) - 3 * page)  # its header reads, its pages do not
    path.write_bytes(bytes(data))
    with pytest.raises(StateError) as caught:
        open_store(default_database_url(old_state))
    assert_one_sentence(str(caught.value), path)
    assert (old_state / "checkpoints.db").is_file()  # the import is one transaction: nothing set aside
    assert rows(old_state / "runbook.db", "SELECT count(*) FROM checkpoints") == [(0,)]
