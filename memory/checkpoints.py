"""LangGraph checkpoints in runbook's own database, for deploys and for chat sessions.

    with open_checkpointer(url) as saver:
        app = graph.compile(checkpointer=saver)
        app.invoke(..., {"configurable": {"thread_id": deploy_thread(deployment.id)}})

SQLite: a ``SqliteSaver`` on the very same file as the store (its own ``checkpoints``/``writes``
tables), with the store's busy timeout and WAL. PostgreSQL: ``langgraph-checkpoint-postgres``'s
``PostgresSaver``, whose ``setup()`` runs once per database and process, one process at a time.

Thread ids carry their kind, so a session a person names can never collide with a deployment id:
``deploy:<deployment id>`` and ``chat:<session id>``.

Checkpoints are deserialised strictly: LangGraph's safe types plus the classes the caller names
(``allowed_types``). A team database is shared, and an unrestricted deserialiser would let whoever can
write a checkpoint row make every reader construct any importable object.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memory.database import open_store
from memory.engines import BUSY_TIMEOUT_SECONDS, PG_CONNECT_TIMEOUT_SECONDS, ensure_wal
from memory.failures import translated
from memory.urls import is_postgresql, psycopg_arguments, sqlite_path

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

__all__ = ["chat_thread", "checkpoint_serde", "deploy_thread", "open_checkpointer", "sqlite_checkpoint_connection"]

DEPLOY_PREFIX = "deploy:"
CHAT_PREFIX = "chat:"
_PG_SETUP_LOCK = 0x72756E626F6F63  # advisory lock key held while PostgresSaver.setup() runs
_pg_set_up: set[str] = set()
_pg_set_up_lock = threading.Lock()

AllowedTypes = Iterable["type | tuple[str, str]"]


def deploy_thread(deployment_id: str) -> str:
    """The checkpoint thread of a deploy (or rollback): ``deploy:<deployment id>``."""
    return f"{DEPLOY_PREFIX}{deployment_id}"


def chat_thread(session_id: str) -> str:
    """The checkpoint thread of a conversation (a terminal session, a Slack thread): ``chat:<session id>``."""
    return f"{CHAT_PREFIX}{session_id}"


def checkpoint_serde(allowed_types: AllowedTypes = ()) -> JsonPlusSerializer:
    """LangGraph's serializer, strict: its safe types plus ``allowed_types`` (classes or (module, name))."""
    from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

    allowed = tuple(allowed_types)
    return JsonPlusSerializer(allowed_msgpack_modules=allowed or None)


def sqlite_checkpoint_connection(path: Path) -> sqlite3.Connection:
    """A sqlite3 connection for a saver on ``path``: the store's busy timeout, WAL."""
    conn = sqlite3.connect(str(path), check_same_thread=False, timeout=BUSY_TIMEOUT_SECONDS)
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
    ensure_wal(conn)
    return conn


@contextmanager
def open_checkpointer(url: str, *, allowed_types: AllowedTypes = ()) -> Iterator[BaseCheckpointSaver[Any]]:
    """A checkpoint saver on the database at ``url`` (the store is opened first: checked, migrated,
    old files imported). Closed when the block ends. Failures to open are StateErrors."""
    store = open_store(url)
    url = store.url
    serde = checkpoint_serde(allowed_types)
    path = sqlite_path(url)
    if is_postgresql(url):
        with _postgres_saver(url, serde) as saver:
            yield saver
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    with translated(url):
        conn = sqlite_checkpoint_connection(path) if path is not None else sqlite3.connect(
            ":memory:", check_same_thread=False)
        saver = SqliteSaver(conn, serde=serde)
        try:
            saver.setup()
        except BaseException:
            conn.close()
            raise
    try:
        yield saver
    finally:
        conn.close()


@contextmanager
def _postgres_saver(url: str, serde: JsonPlusSerializer) -> Iterator[BaseCheckpointSaver[Any]]:
    import psycopg
    from langgraph.checkpoint.postgres import PostgresSaver
    from psycopg.rows import dict_row

    with translated(url):
        conn = psycopg.connect(autocommit=True, prepare_threshold=0, row_factory=dict_row,
                               connect_timeout=PG_CONNECT_TIMEOUT_SECONDS, **psycopg_arguments(url))
        saver = PostgresSaver(conn, serde=serde)  # type: ignore[arg-type]
        try:
            _setup_once(url, conn, saver)
        except BaseException:
            conn.close()
            raise
    try:
        yield saver
    finally:
        conn.close()


def _setup_once(url: str, conn: Any, saver: Any) -> None:
    """Run PostgresSaver.setup() once per database and process, one process at a time.

    Its migrations build indexes CONCURRENTLY, which waits for every transaction holding a snapshot:
    a process blocked inside ``pg_advisory_lock`` would be one, so waiters poll with
    ``pg_try_advisory_lock`` and hold nothing while they wait.
    """
    with _pg_set_up_lock:
        if url in _pg_set_up:
            return
        pause = 0.01
        while not conn.execute("SELECT pg_try_advisory_lock(%s) AS got", (_PG_SETUP_LOCK,)).fetchone()["got"]:
            time.sleep(pause)
            pause = min(pause * 2, 0.2)
        try:
            saver.setup()
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_PG_SETUP_LOCK,))
        _pg_set_up.add(url)
