"""Renderers: the same skill events drawn as a rich terminal view, plain text or JSON lines.

    mode = choose_mode(options.output, sys.stdout)
    render = make_renderer(mode, sys.stdout)
    try:
        run_skill(..., emit=render)
    finally:
        render.close()
"""

from __future__ import annotations

import os
from typing import Literal, Protocol, TextIO

from skills.events import Event

Mode = Literal["rich", "plain", "json"]
OUTPUTS = (None, "", "auto", "rich", "plain", "json")


class Renderer(Protocol):
    def __call__(self, event: Event) -> None:
        """Draw one event."""

    def close(self) -> None:
        """Stop any live display."""


def _is_tty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, OSError, ValueError):
        return False


def choose_mode(output: str | None, stream: TextIO) -> Mode:
    """"json" when asked; "plain" when asked, when `stream` is no terminal or NO_COLOR is set; else "rich"."""
    if output not in OUTPUTS:
        raise ValueError(f"Unknown output {output!r}: use rich, plain or json.")
    if output == "json":
        return "json"
    if output == "plain" or os.environ.get("NO_COLOR") or not _is_tty(stream):
        return "plain"
    return "rich"


def make_renderer(mode: str, stream: TextIO) -> Renderer:
    if mode == "json":
        from agent.render.jsonl import JsonLinesRenderer

        return JsonLinesRenderer(stream)
    if mode == "plain":
        from agent.render.plain import PlainRenderer

        return PlainRenderer(stream)
    if mode == "rich":
        from agent.render.rich_view import RichRenderer

        return RichRenderer.for_stream(stream)
    raise ValueError(f"Unknown render mode {mode!r}: use rich, plain or json.")


__all__ = ["Mode", "Renderer", "choose_mode", "make_renderer"]
