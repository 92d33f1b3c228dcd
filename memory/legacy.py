"""Upgrading a ``.runbook`` folder of runbook 0.1.0: its side files move into the database.

0.1.0 kept deploy checkpoints in ``checkpoints.db``, chat sessions in ``conversations.db`` and the
sandbox fleet in ``sandbox.json``, beside ``runbook.db``. Opening that folder's database imports them
(deploy threads ``dep-…`` become ``deploy:dep-…``, chat threads ``<id>`` become ``chat:<id>``, the fleet
becomes the fleet document) in one transaction, then renames each file to ``<name>.imported``: nothing
is deleted, and a second open finds nothing left to do. Importing again after a crash between the
commit and the renames adds nothing twice (rows are keyed; the fleet document is kept).
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from memory.checkpoints import CHAT_PREFIX, DEPLOY_PREFIX, sqlite_checkpoint_connection
from memory.errors import StateError
from memory.failures import translated
from memory.fleet import FLEET_DOCUMENT

__all__ = ["import_old_state"]

_CHECKPOINT_FILES = (("checkpoints.db", DEPLOY_PREFIX, "deploy"), ("conversations.db", CHAT_PREFIX, "chat"))
_FLEET_FILE = "sandbox.json"
_TABLES = ("checkpoints", "writes")


def import_old_state(database: Path, url: str) -> list[str]:
    """Import the 0.1.0 side files found beside ``database``; returns the names of those imported."""
    folder = database.parent
    found = [name for name, _prefix, _kind in _CHECKPOINT_FILES if (folder / name).is_file()]
    fleet_text = _read_fleet(folder / _FLEET_FILE)
    if not found and fleet_text is None:
        return []
    from langgraph.checkpoint.sqlite import SqliteSaver

    imported: list[str] = []
    with translated(url):
        conn = sqlite_checkpoint_connection(database)
        try:
            SqliteSaver(conn).setup()  # the saver's own tables, as open_checkpointer makes them
            conn.isolation_level = None  # our BEGIN/COMMIT below; ATTACH must happen outside a transaction
            attached = [(name, prefix, alias) for name, prefix, alias in _CHECKPOINT_FILES
                        if name in found and _attach(conn, folder / name, alias)]
            conn.execute("BEGIN IMMEDIATE")
            try:
                for name, prefix, alias in attached:
                    for table in _TABLES:
                        _copy(conn, alias, table, prefix, folder / name)
                    imported.append(name)
                if fleet_text is not None and _import_fleet(conn, fleet_text):
                    imported.append(_FLEET_FILE)
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            for _name, _prefix, alias in attached:
                conn.execute(f"DETACH DATABASE {alias}")
        finally:
            conn.close()
    for name in imported:
        _set_aside(folder / name)
    return imported


def _attach(conn: sqlite3.Connection, path: Path, alias: str) -> bool:
    """Attach an old checkpoint file (never creating one); False if it vanished (another process took it)."""
    uri = f"file:{quote(str(path))}?mode=rw"
    try:
        conn.execute(f"ATTACH DATABASE ? AS {alias}", (uri,))
        names = {row[0] for row in conn.execute(f"SELECT name FROM {alias}.sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as exc:
        if not path.exists():
            return False
        raise _unreadable(path, exc) from exc
    missing = [table for table in _TABLES if table not in names]
    if missing:
        conn.execute(f"DETACH DATABASE {alias}")
        raise StateError(
            f"{path} cannot be imported: it has no LangGraph {' or '.join(missing)} table, so it is not "
            f"runbook 0.1.0's checkpoints; move it out of the folder."
        )
    return True


def _unreadable(path: Path, exc: sqlite3.DatabaseError) -> StateError:
    return StateError(
        f"{path} (runbook 0.1.0's checkpoints) cannot be imported because it is not a readable SQLite "
        f"database ({type(exc).__module__}.{type(exc).__name__} {getattr(exc, 'sqlite_errorname', '')}): move "
        f"it aside or restore it from a backup."
    )


def _copy(conn: sqlite3.Connection, alias: str, table: str, prefix: str, path: Path) -> None:
    new_columns = [row[1] for row in conn.execute(f"PRAGMA main.table_info({table})")]
    old_columns = {row[1] for row in conn.execute(f"PRAGMA {alias}.table_info({table})")}
    columns = [name for name in new_columns if name in old_columns]
    select = ", ".join("? || thread_id" if name == "thread_id" else name for name in columns)
    try:
        conn.execute(
            f"INSERT OR IGNORE INTO main.{table} ({', '.join(columns)}) SELECT {select} FROM {alias}.{table}",
            (prefix,),
        )
    except sqlite3.DatabaseError as exc:
        if not str(getattr(exc, "sqlite_errorname", "")).startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
            raise  # about the database we write to: said of it by `translated`
        raise _unreadable(path, exc) from exc


def _read_fleet(path: Path) -> str | None:
    if not path.is_file():
        return None
    try:
        text = path.read_text(encoding="utf-8")
        json.loads(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise StateError(
            f"{path} (runbook 0.1.0's sandbox fleet) cannot be imported because it is not readable JSON "
            f"({type(exc).__name__}): move it aside, and `runbook sandbox reset` makes a new fleet."
        ) from exc
    return text


def _import_fleet(conn: sqlite3.Connection, text: str) -> bool:
    """Insert the fleet unless the database has one; True when the file's fleet is in the database now."""
    conn.execute("INSERT OR IGNORE INTO runbook_documents (name, version, body) VALUES (?, 1, ?)",
                 (FLEET_DOCUMENT, text))
    row = conn.execute("SELECT body FROM runbook_documents WHERE name = ?", (FLEET_DOCUMENT,)).fetchone()
    return row is not None and row[0] == text  # another fleet already there: leave the file where it is


def _set_aside(path: Path) -> None:
    """Rename ``name`` to ``name.imported`` (``.imported-2``… if taken), SQLite's side files with it."""
    target = path.with_name(path.name + ".imported")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.imported-{n}")
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return  # another process opening the same folder set it aside first
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.rename(side, target.with_name(target.name + suffix))
