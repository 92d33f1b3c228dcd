"""runbook's DB-API layer (memory.sql): placeholders, the row mapping, datetimes on disk and back,
connections shared by threads, processes racing, and what a fork leaves alone."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from memory import _schema
from memory._types import DATETIME, JSON, TEXT, decode, encode, sqlite_datetime
from memory.engines import dispose_engine, engine_for, make_engine
from memory.records import EventRecord
from memory.scratchpad import Scratchpad
from memory.sql import Result, is_integrity_error, to_pyformat
from tests.memory.conftest import raw_connection

# -- placeholders ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("written", "for_psycopg"), [
    ("SELECT * FROM t WHERE a = :a AND b = :b_2", "SELECT * FROM t WHERE a = %(a)s AND b = %(b_2)s"),
    ("UPDATE t SET x = :x WHERE y = :x", "UPDATE t SET x = %(x)s WHERE y = %(x)s"),  # one name, twice
    ("SELECT 'a:b %' || :p", "SELECT 'a:b %%' || %(p)s"),  # no placeholder in a literal; psycopg's %% there
    ("SELECT 'it''s :not' , :yes", "SELECT 'it''s :not' , %(yes)s"),
    ('SELECT "we:ird" FROM t WHERE v LIKE :p', 'SELECT "we:ird" FROM t WHERE v LIKE %(p)s'),
    ("SELECT :n::integer, 5 % 2", "SELECT %(n)s::integer, 5 %% 2"),  # a cast and a modulo
    ("SELECT $$ :x % $$, :y -- :z %\n", "SELECT $$ :x %% $$, %(y)s -- :z %%\n"),
    ("SELECT 1", "SELECT 1"),
])
def test_placeholders_become_psycopg_s(written: str, for_psycopg: str) -> None:
    assert to_pyformat(written) == for_psycopg


def test_placeholders_literals_and_percent_signs_on_both_dialects(database_url: str) -> None:
    Scratchpad(database_url)
    with engine_for(database_url).begin() as conn:
        row = conn.execute(
            "SELECT :a AS a, 'x:y 100%' AS lit, :a || '%' AS pct, CASE WHEN :n > 1 THEN 'big' ELSE 'small' END AS n",
            {"a": "it's", "n": 2}).first()
    assert row == {"a": "it's", "lit": "x:y 100%", "pct": "it's%", "n": "big"}


# -- the row mapping -------------------------------------------------------------------------------

def test_a_result_as_rows_mappings_and_scalars() -> None:
    result = Result(("a", "b"), [(1, "x"), (2, "y")], 2, None)
    assert result.mappings() == [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]
    assert result.first() == {"a": 1, "b": "x"} and result.scalar() == 1 and result.scalars() == [1, 2]
    empty = Result(("a",), [], 0, None)
    assert empty.first() is None and empty.scalar() is None and empty.scalars() == []


def test_values_are_bound_by_type() -> None:
    at = datetime(2026, 11, 26, 17, 10, 30, 5, tzinfo=timezone(timedelta(hours=2)))
    assert encode(at, "sqlite") == "2026-11-26 15:10:30.000005"
    assert encode(at, "postgresql") == at and encode(at, "postgresql").tzinfo == UTC
    assert encode({"a": [1, None]}, "sqlite") == '{"a": [1, null]}'
    assert encode({"a": 1}, "postgresql").obj == {"a": 1}  # psycopg's Json
    from memory.outcome import Outcome

    assert encode(Outcome.RUNNING, "sqlite") == "running" and type(encode(Outcome.RUNNING, "sqlite")) is str
    assert [encode(v, "sqlite") for v in (None, 3, 2.5, "s", True)] == [None, 3, 2.5, "s", True]
    with pytest.raises(ValueError, match="naive"):
        encode(datetime(2026, 1, 1), "sqlite")


def test_columns_are_read_back_by_kind() -> None:
    assert decode(DATETIME, "2026-11-26 15:10:30.000005") == datetime(2026, 11, 26, 15, 10, 30, 5, tzinfo=UTC)
    assert decode(DATETIME, "2026-11-26 15:10:30") == datetime(2026, 11, 26, 15, 10, 30, tzinfo=UTC)
    assert decode(DATETIME, datetime(2026, 1, 1, 3, tzinfo=timezone(timedelta(hours=3)))) == datetime(
        2026, 1, 1, tzinfo=UTC)
    assert decode(JSON, '{"a": [1, 2.5]}') == {"a": [1, 2.5]} and decode(JSON, {"a": 1}) == {"a": 1}
    assert decode(TEXT, "2026-11-26") == "2026-11-26"
    assert decode(DATETIME, None) is None and decode(JSON, None) is None
    row = _schema.events.decode({"seq": 3, "at": "2026-11-26 15:10:30.000000", "payload": "{}", "extra": "x"})
    assert row == {"seq": 3, "at": datetime(2026, 11, 26, 15, 10, 30, tzinfo=UTC), "payload": {}, "extra": "x"}


def test_statements_are_built_from_the_tables_own_columns() -> None:
    sql, params = _schema.select(_schema.locks, {"key": "k", "holder": None}, order_by=("-expires_at", "key"), limit=3)
    assert sql == 'SELECT * FROM "locks" WHERE "key" = :key ORDER BY "expires_at" DESC, "key" LIMIT :limit'
    assert params == {"key": "k", "limit": 3}
    with pytest.raises(KeyError, match="colour"):
        _schema.select(_schema.locks, {"colour; DROP TABLE locks": "x"})
    with pytest.raises(KeyError):
        _schema.insert(_schema.locks, {"key": "k", "nope": 1})


# -- datetimes: microseconds and zones, on disk and back ------------------------------------------------

INSTANTS = [
    datetime(2026, 11, 26, 15, 10, 0, 0, tzinfo=UTC),
    datetime(2026, 11, 26, 15, 10, 0, 1, tzinfo=UTC),
    datetime(2026, 11, 26, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-3, minutes=-30))),  # next day in UTC
    datetime(2026, 3, 29, 1, 59, 59, 999999, tzinfo=ZoneInfo("Europe/Paris")),  # just before a DST change
    datetime(2026, 3, 29, 3, 0, 0, 0, tzinfo=ZoneInfo("Europe/Paris")),  # just after it
    datetime(2026, 11, 1, 1, 30, 0, 250000, tzinfo=ZoneInfo("America/New_York")),  # the ambiguous hour (fold 0)
    datetime(2026, 11, 1, 1, 30, 0, 250000, fold=1, tzinfo=ZoneInfo("America/New_York")),  # ...and fold 1
    datetime(2026, 6, 1, 5, 45, 0, 123456, tzinfo=timezone(timedelta(hours=5, minutes=45))),
    datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
]
UTC_INSTANTS = [at.astimezone(UTC) for at in INSTANTS]


def test_datetimes_round_trip_to_the_microsecond_in_any_zone(pad: Scratchpad) -> None:
    seqs = [pad.append_event("dep-t", "Tick", at, {"i": i}) for i, at in enumerate(INSTANTS)]
    events = pad.events("dep-t")
    assert [e.seq for e in events] == seqs
    for event, at in zip(events, INSTANTS, strict=True):
        # (Python never calls a time in a fold equal to one in another zone: compare in UTC.)
        assert event.at == at.astimezone(UTC) and event.at.tzinfo == UTC and event.at.microsecond == at.microsecond
    assert len({e.at for e in events}) == len(INSTANTS)  # the two New York 1:30s are an hour apart
    with raw_connection(pad.url) as raw:
        stored = [row[0] for row in raw.execute("SELECT at FROM events ORDER BY seq").fetchall()]
    if pad.dialect == "sqlite":  # naive UTC text, six digits of microseconds: text order is time order
        assert stored == [sqlite_datetime(at) for at in INSTANTS]
        assert stored[2] == "2026-11-27 03:29:59.999999" and stored[0] == "2026-11-26 15:10:00.000000"
    else:  # timestamptz: the same instants
        assert [value.astimezone(UTC) for value in stored] == UTC_INSTANTS


def test_postgresql_in_another_session_zone_reads_the_same_instants(postgres_url: str) -> None:
    pad = Scratchpad(postgres_url)
    for at in INSTANTS:
        pad.append_event("dep-t", "Tick", at, {})
    database = postgres_url.rsplit("/", 1)[1]
    with raw_connection(postgres_url) as raw:
        raw.execute(f'ALTER DATABASE "{database}" SET timezone = \'Asia/Kathmandu\'')
    dispose_engine(postgres_url)  # new sessions: +05:45
    with engine_for(postgres_url).connect() as conn:
        assert conn.execute("SHOW timezone").scalar() == "Asia/Kathmandu"
    assert [e.at for e in Scratchpad(postgres_url).events("dep-t")] == UTC_INSTANTS
    assert all(e.at.tzinfo == UTC for e in Scratchpad(postgres_url).events("dep-t"))


def test_text_comparison_of_sqlite_datetimes_orders_like_time(sqlite_pad: Scratchpad) -> None:
    later = sorted(UTC_INSTANTS)
    for n, at in enumerate(later):
        sqlite_pad.acquire_lock(f"k{n}", "h", "dep", at, 0)
    with engine_for(sqlite_pad.url).connect() as conn:
        keys = conn.execute('SELECT "key" FROM locks ORDER BY expires_at').scalars()
    assert keys == [f"k{n}" for n in range(len(later))]


# -- connections: threads, failures, disposal ------------------------------------------------------

def test_threads_share_one_engine_without_sharing_a_connection(pad: Scratchpad, t0: datetime) -> None:
    """A deploy's heartbeat refreshes the lock while its main thread appends; the bot serves requests on
    many threads, each with its own store on the same URL."""
    pad.acquire_lock("svc/env", "me", "dep-1", t0, 60)
    pad.replace_fleet("0")
    errors: list[BaseException] = []

    def heartbeat() -> None:
        for n in range(30):
            pad.refresh_lock("svc/env", "dep-1", t0 + timedelta(seconds=n), 60)

    def request(name: str) -> None:
        store = Scratchpad(pad.url)  # one store per request, as the bot opens them
        for n in range(10):
            store.append_event("dep-1", name, t0, {"n": n})
            with store.fleet_transaction() as draft:  # read-modify-write
                draft.text = str(int(draft.text or "0") + 1)

    def guarded(target: Callable[..., None], *args: Any) -> threading.Thread:
        def run() -> None:
            try:
                target(*args)
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)
        return threading.Thread(target=run)

    threads = [guarded(heartbeat)] + [guarded(request, f"r{i}") for i in range(6)]
    for thread in threads:
        thread.start()
    for n in range(20):
        pad.append_event("dep-1", "main", t0, {"n": n})
    for thread in threads:
        thread.join()
    assert errors == []
    events = pad.events("dep-1")
    assert len(events) == 20 + 6 * 10 and len({e.seq for e in events}) == len(events)
    for name in ["main", *(f"r{i}" for i in range(6))]:  # each thread's own events in its own order
        mine = [e.payload["n"] for e in events if e.kind == name]
        assert mine == sorted(mine)
    assert pad.read_fleet() == (61, "60")  # no increment lost
    lock = pad.get_lock("svc/env")
    assert lock is not None and lock.expires_at == t0 + timedelta(seconds=29 + 60)


def test_an_in_memory_database_is_one_connection_taken_in_turn(t0: datetime) -> None:
    pad = Scratchpad("sqlite://")
    threads = [threading.Thread(target=lambda i=i: [pad.append_event("d", f"t{i}", t0, {}) for _ in range(20)])
               for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(pad.events("d")) == 80
    pad.close()


def test_a_failed_transaction_is_rolled_back_and_its_connection_reused(pad: Scratchpad, t0: datetime) -> None:
    engine = engine_for(pad.url)
    with pytest.raises(RuntimeError), engine.begin(immediate=True) as conn:
        conn.execute(*_schema.insert(_schema.events, {"deployment_id": "d", "kind": "k", "at": t0, "payload": {}}))
        raise RuntimeError("the caller failed mid-transaction")
    assert pad.events("d") == []
    with pytest.raises(Exception) as caught, engine.begin() as conn:
        conn.execute("SELECT * FROM no_such_table")
    assert not is_integrity_error(caught.value)
    # Nothing was left open: another process (a raw connection) can write at once.
    with raw_connection(pad.url) as raw:
        raw.execute("INSERT INTO runbook_documents (name, version, body) VALUES ('x', 1, '')")
    pad.append_event("d", "k", t0, {})
    assert [e.kind for e in pad.events("d")] == ["k"]


def test_a_disposed_engine_opens_new_connections_on_demand(pad: Scratchpad, t0: datetime) -> None:
    engine = engine_for(pad.url)
    pad.append_event("d", "k", t0, {})
    engine.dispose()
    assert len(pad.events("d")) == 1


def test_a_postgresql_session_ended_by_the_server_is_replaced(postgres_url: str, t0: datetime) -> None:
    pad = Scratchpad(postgres_url)
    pad.append_event("d", "k", t0, {})
    with engine_for(postgres_url).connect() as conn:
        pid = conn.execute("SELECT pg_backend_pid()").scalar()
    with raw_connection(postgres_url) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    assert len(pad.events("d")) == 1  # the dead pooled session is noticed before use
    with engine_for(postgres_url).connect() as conn:
        assert conn.execute("SELECT pg_backend_pid()").scalar() != pid


def test_hooks_see_every_new_connection_and_every_statement(sqlite_pad: Scratchpad, t0: datetime) -> None:
    engine = engine_for(sqlite_pad.url)
    connected: list[Any] = []
    seen: list[str] = []

    def on_connect(raw: Any) -> None:
        connected.append(raw)

    def before(sql: str, params: Any) -> None:
        seen.append(sql.split()[0])

    engine.hooks.on_connect.append(on_connect)
    engine.hooks.before_execute.append(before)
    engine.dispose()
    sqlite_pad.append_event("d", "k", t0, {})
    assert len(connected) == 1 and seen == ["INSERT"]

    def refuse(sql: str, params: Any) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    engine.hooks.before_execute.append(refuse)
    from memory.errors import StateError

    with pytest.raises(StateError, match="full"):
        sqlite_pad.append_event("d", "k", t0, {})
    engine.hooks.before_execute.clear()
    engine.hooks.on_connect.clear()
    assert len(sqlite_pad.events("d")) == 1


# -- processes -------------------------------------------------------------------------------------

RACE_INSERT = """
from memory.engines import engine_for
from memory.sql import is_integrity_error

def RACE(pad, name):
    try:
        with engine_for(pad.url).begin(immediate=True) as conn:
            conn.execute("INSERT INTO runbook_documents (name, version, body) VALUES (:n, 1, :who)",
                         {"n": "the-one", "who": name})
    except Exception as exc:
        if not is_integrity_error(exc):
            raise
        return {"won": False}
    return {"won": True, "name": name}
"""

RACE_APPEND = """
from datetime import UTC, datetime

def RACE(pad, name):
    return {"seqs": [pad.append_event("dep-1", name, datetime.now(UTC), {"n": n}) for n in range(15)]}
"""


def test_of_processes_inserting_one_key_exactly_one_wins(
    database_url: str, race: Callable[[str, str, int], list[dict[str, Any]]]
) -> None:
    Scratchpad(database_url)
    results = race(database_url, RACE_INSERT, 6)
    winners = [r["name"] for r in results if r["won"]]
    assert len(winners) == 1
    with engine_for(database_url).connect() as conn:
        assert conn.execute("SELECT body FROM runbook_documents WHERE name = 'the-one'").scalars() == winners


def test_processes_appending_at_once_lose_nothing_and_never_share_a_seq(
    database_url: str, race: Callable[[str, str, int], list[dict[str, Any]]]
) -> None:
    pad = Scratchpad(database_url)
    results = race(database_url, RACE_APPEND, 5)
    seqs = [seq for r in results for seq in r["seqs"]]
    assert len(set(seqs)) == 5 * 15 and all(r["seqs"] == sorted(r["seqs"]) for r in results)
    events: list[EventRecord] = pad.events("dep-1")
    assert sorted(e.seq for e in events) == sorted(seqs)
    for r, name in zip(results, [f"p{i}" for i in range(5)], strict=True):
        assert [e.payload["n"] for e in events if e.kind == name] == list(range(15))
        assert [e.seq for e in events if e.kind == name] == r["seqs"]


FORK_CHILD = """
import os, sys
from datetime import UTC, datetime
from memory.engines import engine_for
from memory.scratchpad import Scratchpad

url, t0 = sys.argv[1], datetime(2026, 1, 2, tzinfo=UTC)
pad = Scratchpad(url)
pad.append_event("d", "parent", t0, {})
engine = engine_for(url)
probe = "SELECT pg_backend_pid()" if pad.dialect == "postgresql" else "SELECT 1"
with engine.connect() as conn:
    session = conn.execute(probe).scalar()
child = os.fork()
if child == 0:
    code = 1
    try:
        import gc
        from memory import engines
        pad.append_event("d", "child", t0, {})  # the same store: new connections of its own
        engines.dispose_engines()
        left = list(engines._forked_away)
        assert len(left) == 1  # the parent's idle connection, kept unclosed...
        for raw in left:
            raw.close()  # ...and even closing it must not end the parent's session
        engines._forked_away.clear()
        gc.collect()
        code = 0
    finally:
        os._exit(code)
_pid, status = os.waitpid(child, 0)
assert os.waitstatus_to_exitcode(status) == 0, "the child failed"
with engine.connect() as conn:  # the very same pooled session, still alive
    assert conn.execute(probe).scalar() == session
pad.append_event("d", "parent", t0, {})
assert [e.kind for e in pad.events("d")] == ["parent", "child", "parent"]
print("ok")
"""


def test_a_forked_child_leaves_the_parent_s_connections_alone(database_url: str) -> None:
    # In a process of its own: forked from the test runner, whose other threads may hold locks at the
    # fork, the child could hang on one of them (which is not what this test is about).
    import subprocess
    import sys

    from tests.memory.conftest import REPO_ROOT

    env = os.environ | {"PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", FORK_CHILD, database_url], env=env, capture_output=True,
                          text=True, timeout=100)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr


def test_a_fresh_engine_per_store_for_in_memory_sqlite(tmp_path: Path) -> None:
    assert make_engine("sqlite://") is not make_engine("sqlite://")
    assert engine_for("sqlite://") is not engine_for("sqlite://")


def test_a_sqlite_store_needs_neither_psycopg_nor_sqlalchemy(tmp_path: Path) -> None:
    """What keeps `runbook status` fast: the store on SQLite imports only the standard library's sqlite3."""
    import subprocess
    import sys

    from tests.memory.conftest import REPO_ROOT

    code = (
        "import sys\n"
        "from datetime import UTC, datetime\n"
        "from memory.database import open_store\n"
        "import memory.checkpoints, memory.legacy\n"
        "with open_store(sys.argv[1]) as pad:\n"
        "    pad.append_event('d', 'k', datetime.now(UTC), {'a': 1})\n"
        "    assert len(pad.events('d')) == 1 and pad.list_deployments() == []\n"
        "print(sorted(name for name, module in sys.modules.items()\n"
        "             if module is not None and name.split('.')[0] in ('psycopg', 'sqlalchemy')))\n"
    )
    done = subprocess.run([sys.executable, "-c", code, f"sqlite:///{tmp_path / 'runbook.db'}"], cwd=REPO_ROOT,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
