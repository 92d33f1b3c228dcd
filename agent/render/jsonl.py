"""JSON lines for `--output json`: one event per line, flushed at once, nothing else on the stream.

Every line (and every JSON document a command prints, `agent.cli_output`) carries `schema_version`.
"""

from __future__ import annotations

import json
from typing import Any, TextIO

from skills.events import Event

SCHEMA_VERSION = 1  # raised when a field changes meaning or goes away; new fields do not raise it


def dumps(payload: dict[str, Any]) -> str:
    """One line of JSON, schema version first."""
    return json.dumps({"schema_version": SCHEMA_VERSION} | payload, separators=(",", ":"), ensure_ascii=False,
                      default=str)


class JsonLinesRenderer:
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def __call__(self, event: Event) -> None:
        dump = getattr(event, "model_dump", None)
        if dump is None:  # not an event: nothing a reader of the stream could parse back
            return
        self._stream.write(dumps(dump(mode="json")) + "\n")
        self._stream.flush()

    def close(self) -> None:
        try:
            self._stream.flush()
        except (OSError, ValueError):
            pass
