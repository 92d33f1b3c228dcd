"""JSON lines for `--output json`: one event per line, flushed at once, nothing else on the stream."""

from __future__ import annotations

from typing import TextIO

from skills.events import Event


class JsonLinesRenderer:
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def __call__(self, event: Event) -> None:
        dump = getattr(event, "model_dump_json", None)
        if dump is None:  # not an event: nothing a reader of the stream could parse back
            return
        self._stream.write(dump() + "\n")
        self._stream.flush()

    def close(self) -> None:
        try:
            self._stream.flush()
        except (OSError, ValueError):
            pass
