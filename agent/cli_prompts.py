"""Decisions and waits in the terminal: the TTY prompt, `--yes`, and the line that announces every wait.

No command waits silently: a deploy that waits for an approval says for what, until when, and how the
wait ends (someone decides, the request expires, or Ctrl-C withdraws it and removes the canary).
"""

from __future__ import annotations

import select
import sys
from typing import TYPE_CHECKING, Any

from agent import cli_output as out
from memory.errors import UserError

if TYPE_CHECKING:
    from agent.runtime import Runtime
    from tools.config import RunbookConfig


def terminal_prompt(renderer: Any) -> Any:
    """A prompt for the approval wait: asks once on the TTY, then checks for an answer without
    blocking the wait loop (which keeps watching the canary and the shared store meanwhile)."""
    asked = False

    def prompt(question: str, wait_seconds: float) -> str | None:
        nonlocal asked
        if not asked:
            renderer.close()  # a live spinner would draw over the question
            print(question, end="", flush=True, file=sys.stderr)
            asked = True
        ready, _, _ = select.select([sys.stdin], [], [], wait_seconds)
        if not ready:
            return None
        answer = sys.stdin.readline().strip().lower()
        return "approved" if answer in ("y", "yes") else "denied"

    return prompt


class YesPrompt:
    """`--yes`: the requester's own approval, given at once, where the policy lets the requester approve
    (the gate still checks it, as it checks a typed "y")."""

    def __call__(self, question: str, wait_seconds: float) -> str:
        return "approved"


def _who_approves(config: RunbookConfig, environment: str) -> str:
    policy = config.environment(environment)[1].approval
    ways = []
    if policy.slack:
        ways.append(f"in Slack ({config.slack.channel_for(environment)})")
    if policy.terminal:
        names = ", ".join(policy.approvers)
        ways.append("with `runbook approve ID`" + (f" by one of {names}" if names else ""))
    return " or ".join(ways) or "by nobody: the policy accepts no decision"


def approve_with_yes(runtime: Runtime, environment: str) -> YesPrompt:
    """The --yes prompt, or a UserError (nothing ran) where the policy needs someone else to approve."""
    policy = runtime.config.environment(environment)[1].approval
    if policy.required and not (policy.terminal and policy.allow_self_approval):
        raise UserError(f"--yes is refused: {environment}'s approval policy needs someone other than the requester"
                        f" to approve, {_who_approves(runtime.config, environment)}; nothing ran.")
    return YesPrompt()


class AnnouncedWaits:
    """Passes every event on; when a deploy starts waiting for a person, says so on stderr (always)."""

    def __init__(self, runtime: Runtime, renderer: Any, by_yes: bool) -> None:
        self._runtime, self._renderer, self._by_yes = runtime, renderer, by_yes

    def __call__(self, event: Any) -> None:
        self._renderer(event)
        if getattr(event, "kind", "") == "approval_requested":
            if self._by_yes:
                out.note(f"Approving it yourself (--yes): {event.environment} lets the requester approve.")
            else:
                out.waiting(wait_line(self._runtime, event))

    def close(self) -> None:
        self._renderer.close()


def wait_line(runtime: Runtime, event: Any) -> str:
    """What the deploy waits for, until when, and how the wait ends."""
    left = max(0, int((event.expires_at - runtime.wall.now()).total_seconds()))
    minutes = f"{left // 60} min {left % 60:02d} s" if left >= 60 else f"{left} s"
    dep = event.deployment_id
    how = [f"in Slack ({c.removeprefix('slack:')})" for c in event.channels if c.startswith("slack:")]
    if "terminal" in event.channels:
        how.append(f"`runbook approve {dep}` / `runbook deny {dep}` from another shell")
    return (f"Waiting for a person to approve {event.service} {event.to_version} in {event.environment}, until"
            f" {event.expires_at:%H:%M:%S} UTC ({minutes}): {' or '.join(how) or 'nowhere (no channel accepts it)'}."
            " Ctrl-C stops waiting: the request is withdrawn and the canary removed.")


def announce_waits(runtime: Runtime, renderer: Any, by_yes: bool) -> AnnouncedWaits:
    return AnnouncedWaits(runtime, renderer, by_yes)
