"""What a command writes, and where, under one convention.

* `--output json`: commands that stream (deploy, rollback, resume, sandbox demo, chat, slack serve, mcp
  serve) write JSON lines,
  one typed event per line (`kind` names it, as in `skills.events`); every other command writes one JSON
  document. Each line and each document has `"schema_version": 1`; a document also has `"command"` and
  `"ok"`, and an error is `{"ok": false, "error": {"message": ..., "exit_code": ...}}` (a line of kind
  "error" in a stream). Nothing else goes to stdout: notes, progress and waits go to stderr.
* Notes (the sandbox banner, a replaced AWS profile) go to stderr, except with --quiet.
* A wait is always announced on stderr, --quiet or not: what it waits for, for how long, how to end it.
"""

from __future__ import annotations

import sys
from typing import Any

from agent.cli_options import current

STREAMING = ("deploy", "rollback", "resume", "sandbox demo", "chat", "slack serve", "mcp serve")  # JSON lines; the others: one document


def note(message: str) -> None:
    """A line for the person, not the result: stderr, and not at all with --quiet."""
    if not current().quiet:
        print(message, file=sys.stderr, flush=True)


def waiting(message: str) -> None:
    """A wait: always said (stderr), whatever --quiet says; `message` names what, how long, how to end it."""
    print(message, file=sys.stderr, flush=True)


def say(message: str = "") -> None:
    """The result in text form (stdout); nothing with --output json (the document says it)."""
    if not current().json:
        print(message, flush=True)


def document(command: str, payload: dict[str, Any], ok: bool = True) -> None:
    """The one JSON document of a non-streaming command (only with --output json), on one line."""
    if current().json:
        json_line({"command": command, "ok": ok} | payload)


def json_line(payload: dict[str, Any]) -> None:
    from agent.render.jsonl import dumps

    print(dumps(payload), flush=True)


def error(command: str, message: str, exit_code: int) -> None:
    """A user error in JSON mode: the document (or the stream's last line) says it too."""
    if not current().json:
        return
    failure = {"message": message, "exit_code": exit_code}
    if command in STREAMING:
        json_line({"kind": "error", "command": command} | failure)
    else:
        document(command, {"error": failure}, ok=False)


def json_events() -> Any:
    """The renderer of `--output json` for streaming commands: one typed event per line on stdout."""
    from agent.render.jsonl import JsonLinesRenderer

    return JsonLinesRenderer(sys.stdout)


QUIET_KINDS = frozenset({"approval_requested", "approval_decided", "deploy_finished", "rollback_started",
                         "rollback_finished"})


class Quiet:
    """--quiet for a text renderer: only the events that carry the result or need the person."""

    def __init__(self, renderer: Any) -> None:
        self._renderer = renderer

    def __call__(self, event: Any) -> None:
        if getattr(event, "kind", "") in QUIET_KINDS:
            self._renderer(event)

    def close(self) -> None:
        self._renderer.close()
