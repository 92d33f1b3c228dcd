"""Racing processes for the store tests, forked from one warm server process.

Each racer is a real process with its own connections, but it starts in milliseconds: the
multiprocessing fork server imports the store, the drivers and LangGraph once per test session, and
every racer is forked from it (a clean, single-threaded process), instead of each one importing them
again in a fresh interpreter (about a second each on a busy 2-core machine).
"""

from __future__ import annotations

import json
import time
import traceback
from pathlib import Path
from typing import Any

PRELOAD = [
    "tests.memory.racing",
    "memory.database",
    "memory.legacy",
    "memory.checkpoints",
    "psycopg",
    "langgraph.checkpoint.sqlite",
    "langgraph.checkpoint.postgres",
]


def run_racer(source: str, url: str, name: str, go: str, out: str) -> None:
    """In the racer: open the store (before or after the start signal), run ``RACE``, write its result."""
    try:
        from memory.database import open_store
        from memory.scratchpad import Scratchpad

        namespace: dict[str, Any] = {"__name__": "__racer__"}
        exec(compile(source, "<race>", "exec"), namespace)  # noqa: S102 - the test's own race body
        late = namespace.get("OPEN_AFTER_GO", False)  # race the opening itself (a fresh database)
        pad = None if late else Scratchpad(url)
        Path(f"{go}.{name}").touch()  # ready
        while not Path(go).exists():
            time.sleep(0.001)
        if late:
            pad = open_store(url)
        result = namespace["RACE"](pad, name)
        pad.close()
        Path(out).write_text(json.dumps({"result": result}))
    except BaseException:
        Path(out).write_text(json.dumps({"error": traceback.format_exc()}))
        raise
