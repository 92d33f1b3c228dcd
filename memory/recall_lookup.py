"""Recall beside the caller: importing chromadb and loading the model cost about a second, so a caller
with other work to do (an investigation fetching logs and metrics) starts the lookup first.

    lookup = recall_in_background(state_dir=".runbook")   # starts now: open the index, sync the scratchpad
    lookup.send([RecallQuery(query="OutOfMemoryError: Java heap space", kinds=["postmortem"])])
    hits = lookup.result(timeout=3.0)                     # one list of hits per query, best first

The lookup runs in a child process started fresh (multiprocessing "spawn"): it opens the index
(indexing the knowledge folder the first time), indexes the deployments and investigations the
scratchpad logged since the last lookup (``sync_from_scratchpad``), waits for the queries and sends
the hits back as JSON over a Pipe. Not "fork": a forked child inherits every lock the caller's other
threads held at that instant (a deploy's heartbeat writing to SQLite holds SQLite's memory mutex), and
the child hung on the first one it touched. In a process that has already loaded chromadb, the same
work runs in a thread instead, which costs little there since everything is loaded. ``result`` raises ``RecallUnavailable`` (one sentence)
when the hits are not back in time or the lookup failed: callers answer without them.

``cite`` and ``title`` name a hit the way answers cite it: ``out-of-memory.md § Mitigate``,
``deployment dep-…``, ``investigation inv-…``.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from memory.recall import RecallHit
from memory.recall_settings import RecallSettings

__all__ = ["RecallLookup", "RecallQuery", "RecallUnavailable", "cite", "recall_in_background", "recall_with", "title"]

Mode = Literal["auto", "process", "thread"]
DEADLINE_SECONDS = 120  # a lookup in a child process ends itself after this long, whatever it is doing
_DETACHED: list[Any] = []  # child lookups given up on; reaped when the next one starts


class RecallQuery(BaseModel):
    query: str
    kinds: list[str] | None = None
    service: str | None = None
    limit: int = 5


class RecallUnavailable(Exception):
    """The lookup did not answer (in time); the message is the reason, e.g. 'not back within 3 s'."""


class RecallLookup:
    """A lookup started by ``recall_in_background``: ``send`` the queries once, then take the ``result``."""

    def __init__(self, connection: Connection, worker: Any, mode: str) -> None:
        self._connection = connection
        self._worker = worker
        self.mode = mode  # process or thread
        self.model: str | None = None  # the index's embedding model, once the result is in
        self._sent = False

    def send(self, queries: Sequence[RecallQuery]) -> None:
        self._sent = True
        try:
            self._connection.send_bytes(json.dumps([q.model_dump() for q in queries]).encode())
        except (OSError, ValueError):
            pass  # the lookup has already ended (it failed): `result` says why

    def ready(self) -> bool:
        """Whether the result is back (reading it now would not wait)."""
        try:
            return bool(self._connection.poll(0))
        except (OSError, ValueError):
            return True  # ended: `result` says why at once

    def result(self, timeout: float) -> list[list[RecallHit]]:
        """The hits of each query sent; waits at most ``timeout`` seconds. Closes the lookup."""
        try:
            if not self._connection.poll(max(timeout, 0.0)):
                raise RecallUnavailable(f"not back within {timeout:g} s")
            reply = json.loads(self._connection.recv_bytes())
        except (EOFError, OSError, ValueError):
            raise RecallUnavailable("the lookup ended without an answer") from None
        finally:
            self.close()
        if "error" in reply:
            raise RecallUnavailable(reply["error"])
        self.model = reply.get("model")
        return [[RecallHit.model_validate(hit) for hit in hits] for hits in reply["hits"]]

    def close(self) -> None:
        """Give up on the lookup. A child process still loading stops now; one already writing to the
        index finishes on its own, detached: this process does not wait for it when it exits."""
        self._connection.close()
        if self.mode != "process" or not self._worker.is_alive():
            return
        if not self._sent:
            self._worker.terminate()  # SIGTERM: ignored once the child may write (see _child)
        # multiprocessing joins its children at exit: a lookup nobody waits for must not delay that
        multiprocessing.process._children.discard(self._worker)  # type: ignore[attr-defined]
        _DETACHED.append(self._worker)


def recall_in_background(
    queries: Sequence[RecallQuery] | None = None,
    *,
    state_dir: Path | str = ".runbook",
    folder: Path | str | None = None,
    embedding: str = "auto",
    vocab_path: str | None = None,
    server_url: str | None = None,
    database_url: str | None = None,
    sync: bool = True,
    mode: Mode = "auto",
) -> RecallLookup:
    """Start a lookup in the index under ``state_dir`` (or on the chroma server ``server_url``; see the
    module docstring); ``queries`` now or later with ``send``. ``sync``: index the new deployments and
    investigations of the scratchpad at ``database_url`` (default: the one in ``state_dir``) first."""
    options = {"state_dir": str(state_dir), "folder": str(folder) if folder else None, "embedding": embedding,
               "vocab_path": vocab_path, "server_url": server_url, "database_url": database_url, "sync": sync}
    if mode == "auto":
        mode = "thread" if "chromadb" in sys.modules else "process"
    _DETACHED[:] = [p for p in _DETACHED if p.is_alive()]  # is_alive() reaps the ones that ended
    ours, theirs = multiprocessing.Pipe(duplex=True)
    worker: Any
    if mode == "process":
        worker = multiprocessing.get_context("spawn").Process(
            target=_child, args=(theirs, options), name="runbook-recall", daemon=False)
        worker.start()
        theirs.close()  # the child holds its own copy; EOF here means the child is gone
    else:
        worker = threading.Thread(target=_serve, args=(theirs, options), name="runbook-recall", daemon=True)
        worker.start()
    lookup = RecallLookup(ours, worker, mode)
    if queries:
        lookup.send(queries)
    return lookup


def _child(connection: Connection, options: dict[str, Any]) -> None:
    """The child process: quiet and bounded in time; it may be stopped until it could write to the index."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # what the child prints is not for the person: failures go back over the Pipe
    os.dup2(devnull, 2)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.alarm(DEADLINE_SECONDS)
    import chromadb  # noqa: F401 - the slow part, done while stopping is still harmless

    from memory import embedding  # noqa: F401

    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # from here the index may be written: finish it
    _serve(connection, options)


def _serve(connection: Connection, options: dict[str, Any]) -> None:
    from memory import recall as recall_module

    try:
        index = recall_module._open(options["state_dir"], options["folder"], options["embedding"],
                                    options["vocab_path"], options["server_url"])
        if options["sync"]:
            _sync(index, Path(options["state_dir"]), options["database_url"])
        index.recall("runbook", limit=1)  # loads the model while the caller is still busy
        raw = connection.recv_bytes()
        queries = [RecallQuery.model_validate(q) for q in json.loads(raw)]
        hits = [index.recall(q.query, q.kinds, q.service, q.limit) for q in queries]
        reply: dict[str, Any] = {"model": index.model,
                                 "hits": [[h.model_dump(mode="json") for h in found] for found in hits]}
    except (EOFError, OSError):
        connection.close()  # the caller gave up before sending queries
        return
    except Exception as exc:  # noqa: BLE001 - reported to the caller, who answers without recall
        reply = {"error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    try:
        connection.send_bytes(json.dumps(reply).encode())
    except OSError:
        pass  # the caller stopped waiting
    finally:
        connection.close()


def _sync(index: Any, state_dir: Path, database_url: str | None) -> None:
    from memory._schema import DB_FILENAME
    from memory.scratchpad import Scratchpad

    if database_url is None:
        if not (state_dir / DB_FILENAME).exists():
            return
        database_url = f"sqlite:///{state_dir / DB_FILENAME}"
    with Scratchpad(database_url) as pad:
        index.sync_from_scratchpad(pad)


def recall_with(settings: RecallSettings, queries: Sequence[RecallQuery] | None = None,
                mode: Mode = "auto") -> RecallLookup:
    """``recall_in_background`` with the runtime's settings; RecallUnavailable when recall is turned off."""
    if not settings.enabled:
        raise RecallUnavailable("recall is turned off (knowledge.enabled: false)")
    return recall_in_background(queries, state_dir=settings.state_dir, folder=settings.folder,
                                embedding=settings.embedding, vocab_path=settings.vocab_path,
                                server_url=settings.server_url, database_url=settings.database_url, mode=mode)


def title(hit: RecallHit) -> str:
    """What a hit is about: a document's title (without a 'Postmortem:' prefix), else its heading."""
    if hit.kind in ("deployment", "investigation") or not hit.title:
        return hit.heading
    name = hit.title
    prefix = f"{hit.kind}:"
    return name[len(prefix):].strip() if name.lower().startswith(prefix) else name


def cite(hit: RecallHit) -> str:
    """Where a hit comes from: ``file.md § Section`` (or ``file.md``), or the deployment/investigation id."""
    if hit.deployment_id:
        return f"deployment {hit.deployment_id}"
    if hit.investigation_id:
        return f"investigation {hit.investigation_id}"
    name = Path(hit.source).name
    section = hit.heading.split(" > ")[-1] if " > " in hit.heading else ""
    return f"{name} § {section}" if section else name
