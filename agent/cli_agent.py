"""CLI commands for `runbook ask`, `runbook chat` and `runbook status`. Heavy imports stay inside them."""

from __future__ import annotations

import sys
import uuid
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from agent import cli_output as out
from agent import commands
from agent.cli_options import current, with_global_options
from memory.errors import EXIT_BAD_INPUT

if TYPE_CHECKING:
    from agent.conversation import Reply
    from agent.runtime import Runtime
    from skills.status import ServiceReport


def status_exit_code(reports: list[ServiceReport]) -> int:
    """0 every service healthy · 10 one is not (tasks down or missing, an alarm firing) · 11 one could not be read."""
    if any(r.error for r in reports):
        return commands.EXIT_UNREACHABLE
    if any(not r.healthy_overall for r in reports):
        return commands.EXIT_UNHEALTHY
    return 0


def ask_exit_code(reply: Reply) -> int:
    """`runbook ask` ends as the skill it ran would: a deploy or rollback with its code (a change that could
    not start with 2), a status question with status's; a request it could only ask back about (or refuse)
    with 2, since nothing ran."""
    if any(r.get("exit_code") is not None for r in reply.results):
        return reply.exit_code
    from skills.status import ServiceReport

    statuses = [r for r in reply.results if r.get("tool") == "service_status" and r.get("ok")]
    if statuses:
        return status_exit_code([ServiceReport.model_validate(d) for d in statuses[-1].get("data") or []])
    if reply.offline and not reply.results and reply.routed in ("clarify", "refuse", "unsupported"):
        return EXIT_BAD_INPUT
    return reply.exit_code


def _ask(question: str, session: str, command: str = "ask") -> int:
    opts = current()

    def body(runtime: Runtime) -> int:
        from agent.conversation import ask

        events = _DeployView(runtime, opts.json, stream=command == "chat")
        try:
            reply = ask(question, session, runtime, on_event=events)
        finally:
            events.close()
        if opts.verbose:
            for line in reply.trace:
                print(f"· {line}", file=sys.stderr)
            if reply.model_calls:
                print(f"· tokens: {reply.input_tokens} input, {reply.output_tokens} output,"
                      f" {reply.model_calls} model call(s)", file=sys.stderr)
        code = ask_exit_code(reply)
        answer = {"session": session, "question": question, "answer": reply.answer, "exit_code": code,
                  "routed": reply.routed, "tools": reply.tools, "offline": reply.offline,
                  "model_calls": reply.model_calls, "input_tokens": reply.input_tokens,
                  "output_tokens": reply.output_tokens, "results": reply.results}
        if opts.json and command == "chat":
            out.json_line({"kind": "answer"} | answer)
        elif opts.json:
            out.document("ask", answer | {"events": events.collected}, ok=code == 0)
        else:
            if events.used:
                print()
            print(reply.answer)
        note = commands.sandbox_note(runtime)
        if note:
            out.note(f"({note})")
        return code  # a deploy or rollback asked for here ends as `runbook deploy` would

    return commands.with_runtime(opts, body, command)


class _DeployView:
    """A deploy or rollback started from `ask`/`chat` is drawn as `runbook deploy` draws it, after a line
    with its deployment id and how to approve it, and its wait for a person is announced; the renderer is
    built on the first event, so a question pays nothing for it. With --output json the events go into
    ask's document (`events`), or stream as JSON lines in chat."""

    def __init__(self, runtime: Runtime, as_json: bool, stream: bool) -> None:
        self._runtime = runtime
        self._json, self._stream = as_json, stream
        self._renderer: Any = None
        self.used = False
        self.collected: list[dict[str, Any]] = []

    def __call__(self, event: Any) -> None:
        self.used = True
        if self._json and not self._stream:
            self.collected.append(event.model_dump(mode="json"))
            if getattr(event, "kind", "") == "approval_requested":
                from agent.cli_prompts import wait_line

                out.waiting(wait_line(self._runtime, event))
            return
        if self._renderer is None:
            from agent.cli_prompts import announce_waits
            from agent.render import choose_mode, make_renderer

            renderer = out.json_events() if self._json else make_renderer(choose_mode(None, sys.stdout), sys.stdout)
            self._renderer = announce_waits(self._runtime, renderer, by_yes=False)
        if getattr(event, "kind", "") == "deploy_started" and not self._json:
            from agent.tool_requests import how_to_approve

            how = how_to_approve(self._runtime.config, event.environment, event.deployment_id, event.requester)
            print(f"Requested {event.deployment_id}: {event.service} {event.version} to {event.environment},"
                  f" by {event.requester}. {how}\n", flush=True)
        self._renderer(event)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()


def _status(service: str | None, environment: str | None) -> int:
    def body(runtime: Runtime) -> int:
        from skills.status import render_reports, service_status

        note = commands.sandbox_note(runtime)
        if note:
            out.note(note)
        reports = service_status(runtime, service, environment)
        code = status_exit_code(reports)
        out.say(render_reports(reports))
        out.document("status", {"exit_code": code, "sandbox": runtime.config.uses_sandbox, "services": [
            r.model_dump(mode="json") | {"healthy_overall": r.healthy_overall} for r in reports]}, ok=code == 0)
        return code

    return commands.with_runtime(current(), body, "status")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level `runbook` app."""
    from agent.cli import aws_calls_shown

    @app.command(epilog="\b\nExamples:\n  runbook ask \"Show errors for checkout-api last 10 minutes\"\n"
                        "  runbook ask \"and the hour before?\" --session incident-42\n"
                        "  runbook -o json ask \"is payments-api healthy?\" | jq .exit_code")
    @with_global_options
    def ask(
        question: Annotated[str, typer.Argument(metavar="QUESTION", help="A question or request in plain language.")],
        session: Annotated[str, typer.Option("--session", metavar="NAME", help="Conversation to continue (follow-ups).")] = "terminal",
    ) -> None:
        """Ask runbook in plain language: "Show errors for checkout-api last 10 minutes".

        Exit codes: as the skill that answered: a deploy's or rollback's (those of `runbook deploy`), a status question's (those of `runbook status`); 2 when nothing ran (the request was unclear, refused or unsupported, or could not start); 0 otherwise.
        """
        with aws_calls_shown():
            code = _ask(question, session)
        raise typer.Exit(code)

    @app.command(epilog="\b\nExamples:\n  runbook chat\n  printf 'is checkout-api healthy?\\n' | runbook -o json chat")
    @with_global_options
    def chat() -> None:
        """A conversation in the terminal; follow-ups keep their context. Empty line or Ctrl-D ends it.

        With --output json: JSON lines, a deploy's events as they happen and one "answer" line per question. Exit code 0 when the conversation ends.
        """
        session = "chat-" + uuid.uuid4().hex[:8]
        while True:
            print("you> ", end="", file=sys.stderr, flush=True)  # the prompt is no output: stdout stays the answers
            line = sys.stdin.readline()
            question = line.strip()
            if not line or not question or question in ("exit", "quit"):
                break
            _ask(question, session, "chat")
        raise typer.Exit(0)

    @app.command(epilog="\b\nExamples:\n  runbook status\n  runbook status checkout-api -e production\n"
                        "  runbook -o json status | jq '.services[] | select(.healthy_overall | not)'")
    @with_global_options
    def status(
        service: Annotated[Optional[str], typer.Argument(metavar="[SERVICE]", help="Only this service.")] = None,  # noqa: UP045
        environment: Annotated[Optional[str], typer.Option("--environment", "-e", metavar="ENV", help="Only this environment.")] = None,  # noqa: UP045
    ) -> None:
        """Version, task health, recent deploys and alarms per service and environment.

        Exit codes: 0 every service shown is healthy · 10 one is not (tasks down or missing, an alarm firing) · 11 one could not be read (AWS unreachable, no credentials) · 2 bad input · 8 runbook's state cannot be used.
        """
        with aws_calls_shown():
            code = _status(service, environment)
        raise typer.Exit(code)
