"""The background lookup: hits back over a Pipe from a child process (or a thread where chromadb is
already loaded), the scratchpad synced first, and a late or failed lookup said in one sentence."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from multiprocessing import Pipe
from pathlib import Path

import pytest

from memory.recall import RecallHit
from memory.recall_lookup import (
    RecallLookup,
    RecallQuery,
    RecallUnavailable,
    cite,
    recall_in_background,
    title,
)
from memory.records import InvestigationRecord
from memory.scratchpad import Scratchpad

REPO_ROOT = Path(__file__).resolve().parents[3]
T = datetime(2026, 1, 2, tzinfo=UTC)


@pytest.fixture
def knowledge(tmp_path: Path, write) -> Path:  # type: ignore[no-untyped-def]
    folder = tmp_path / "kb"
    write(folder / "redis.md", "# Redis connection errors\n\nconnection refused by redis\n\n"
                               "## Mitigate\n\nraise the pool size, restart the worker\n")
    write(folder / "postmortem-oom.md", "---\nkind: postmortem\nservices: [checkout-api]\n---\n"
                                        "# Postmortem: checkout-api ran out of memory\n\n## Root cause\n\n"
                                        "an unbounded cache; OutOfMemoryError under full load\n")
    return folder


def test_hits_come_back_for_each_query(tmp_path: Path, knowledge: Path) -> None:
    lookup = recall_in_background(state_dir=tmp_path / "state", folder=knowledge, mode="thread")
    lookup.send([RecallQuery(query="redis connection refused", kinds=["runbook"], limit=2),
                 RecallQuery(query="out of memory", kinds=["postmortem"], service="checkout-api")])
    runbooks, posts = lookup.result(timeout=60)
    assert runbooks and {h.kind for h in runbooks} == {"runbook"}
    assert cite(runbooks[0]).startswith("redis.md")
    assert [cite(h) for h in posts] == ["postmortem-oom.md § Root cause"]
    assert title(posts[0]) == "checkout-api ran out of memory" and lookup.model


def test_the_scratchpad_is_synced_before_the_queries(tmp_path: Path, knowledge: Path) -> None:
    state = tmp_path / "state"
    with Scratchpad.in_dir(state) as pad:
        pad.record_investigation(InvestigationRecord(
            id="inv-lookup1", service="payments-api", environment="production", question="errors?",
            started_at=T, window_start=T, window_end=T, summary="card processor timeouts, retry budget exhausted", findings={}))
    lookup = recall_in_background([RecallQuery(query="card processor timeouts", kinds=["investigation"])],
                                  state_dir=state, folder=knowledge, mode="thread")
    [hits] = lookup.result(timeout=60)
    assert [cite(h) for h in hits] == ["investigation inv-lookup1"]


def test_failures_and_lateness_are_one_sentence(tmp_path: Path, knowledge: Path) -> None:
    bad = recall_in_background([RecallQuery(query="x", kinds=["nonsense"])], state_dir=tmp_path / "s",
                               folder=knowledge, mode="thread")
    with pytest.raises(RecallUnavailable, match="unknown recall kind"):
        bad.result(timeout=60)
    ours, _nobody_answers = Pipe()
    with pytest.raises(RecallUnavailable, match=r"not back within 0\.01 s"):
        RecallLookup(ours, worker=None, mode="thread").result(timeout=0.01)


_IN_A_CHILD = textwrap.dedent("""
    import json, sys, time
    from memory.recall_lookup import RecallQuery, cite, recall_in_background

    state, folder = sys.argv[1], sys.argv[2]
    lookup = recall_in_background([RecallQuery(query="redis connection refused", kinds=["runbook"])],
                                  state_dir=state, folder=folder)
    [hits] = lookup.result(timeout=60)
    unused = recall_in_background(state_dir=state, folder=folder)
    started = time.perf_counter()
    unused.close()  # never sent anything: stopped, and not waited for at exit
    print(json.dumps({"mode": lookup.mode, "cited": [cite(h) for h in hits], "close": time.perf_counter() - started,
                      "chromadb_here": "chromadb" in sys.modules}))
""")


def test_a_fresh_process_looks_up_in_a_child_and_never_loads_chromadb_itself(tmp_path: Path, knowledge: Path) -> None:
    env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", _IN_A_CHILD, str(tmp_path / "state"), str(knowledge)], env=env,
                          capture_output=True, text=True, timeout=90)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["mode"] == "process" and not out["chromadb_here"]
    # close() does not wait for the child (which may run up to its 120 s deadline): far less than that
    assert out["cited"][0].startswith("redis.md") and out["close"] < 30


_WHILE_A_THREAD_WRITES = textwrap.dedent("""
    import json, sqlite3, sys, threading
    from memory.recall_lookup import RecallQuery, recall_in_background
    from memory.scratchpad import Scratchpad

    state, folder = sys.argv[1], sys.argv[2]
    with Scratchpad.in_dir(state):
        pass
    stop = threading.Event()

    def heartbeat():  # what a deploy's lock heartbeat does, without the pauses
        while not stop.is_set():
            with Scratchpad.in_dir(state) as pad:
                pad.get_lock("checkout-api/production")
            db = sqlite3.connect(":memory:")
            db.execute("create table beat (at blob)")
            db.executemany("insert into beat values (randomblob(64))", [()] * 200)
            db.close()

    for _ in range(3):
        threading.Thread(target=heartbeat, daemon=True).start()
    answers = []
    for _ in range(6):
        lookup = recall_in_background([RecallQuery(query="redis connection refused", kinds=["runbook"])],
                                      state_dir=state, folder=folder)
        answers.append(len(lookup.result(timeout=100)[0]))
    stop.set()
    print(json.dumps(answers))
""")


def test_a_lookup_started_while_another_thread_writes_sqlite_answers(tmp_path: Path, knowledge: Path) -> None:
    # A forked child inherited SQLite's memory mutex held by the writing thread and hung until its
    # deadline: the deploy's runbook hint never came back (seen on a fresh clone, every time).
    env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", _WHILE_A_THREAD_WRITES, str(tmp_path / "state"), str(knowledge)],
                          env=env, capture_output=True, text=True, timeout=800)
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(answers) == 6 and all(answers), answers  # each lookup found redis.md


def test_citations_name_the_file_and_section_or_the_record() -> None:
    doc = RecallHit(id="d", kind="postmortem", score=0.6, heading="Postmortem: X broke > Root cause", text="",
                    source="/kb/pm-x.md", title="Postmortem: X broke")
    assert (cite(doc), title(doc)) == ("pm-x.md § Root cause", "X broke")
    whole = doc.model_copy(update={"heading": "Postmortem: X broke"})
    assert cite(whole) == "pm-x.md"
    dep = RecallHit(id="deployment:dep-1", kind="deployment", score=0.5, heading="Deployment of x 1.0 (failed)",
                    text="", source="scratchpad", deployment_id="dep-1")
    assert (cite(dep), title(dep)) == ("deployment dep-1", "Deployment of x 1.0 (failed)")
