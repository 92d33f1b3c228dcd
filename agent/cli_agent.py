"""CLI commands for `runbook ask`, `runbook chat` and `runbook status`. Heavy imports stay inside them."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from agent import commands

if TYPE_CHECKING:
    from agent.runtime import Runtime

ConfigOption = Annotated[
    Optional[Path],  # noqa: UP045 - typer needs Optional here
    typer.Option("--config", "-c", help="Path to runbook.yaml (default: found from the working directory, else the built-in sandbox).",
                 dir_okay=False),
]


def _ask(question: str, session: str, verbose: bool, config_path: Path | None) -> int:
    def body(runtime: Runtime) -> int:
        from agent.conversation import ask

        events = _DeployView(runtime.config)
        try:
            reply = ask(question, session, runtime, on_event=events)
        finally:
            events.close()
        if verbose:
            for line in reply.trace:
                print(f"· {line}", file=sys.stderr)
            if reply.model_calls:
                print(f"· tokens: {reply.input_tokens} input, {reply.output_tokens} output,"
                      f" {reply.model_calls} model call(s)", file=sys.stderr)
        if events.used:
            print()
        print(reply.answer)
        note = commands.sandbox_note(runtime)
        if note:
            print(f"({note})")
        return reply.exit_code  # a deploy or rollback asked for here ends as `runbook deploy` would

    return commands.with_runtime(config_path, body)


class _DeployView:
    """A deploy or rollback started from `ask`/`chat` is drawn as `runbook deploy` draws it, after a line
    with its deployment id and how to approve it; the renderer is built on the first event, so a question
    pays nothing for it."""

    def __init__(self, config) -> None:  # type: ignore[no-untyped-def]
        self._config = config
        self._renderer = None
        self.used = False

    def __call__(self, event) -> None:  # type: ignore[no-untyped-def]
        if self._renderer is None:
            from agent.render import choose_mode, make_renderer

            self._renderer = make_renderer(choose_mode(None, sys.stdout), sys.stdout)  # type: ignore[assignment]
        if getattr(event, "kind", "") == "deploy_started":
            from agent.tool_requests import how_to_approve

            how = how_to_approve(self._config, event.environment, event.deployment_id, event.requester)
            print(f"Requested {event.deployment_id}: {event.service} {event.version} to {event.environment},"
                  f" by {event.requester}. {how}\n", flush=True)
        self.used = True
        self._renderer(event)  # type: ignore[misc]

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()


def _status(service: str | None, environment: str | None, config_path: Path | None) -> int:
    def body(runtime: Runtime) -> int:
        from skills.status import render_reports, service_status

        note = commands.sandbox_note(runtime)
        if note:
            print(note)
        print(render_reports(service_status(runtime, service, environment)))
        return 0

    return commands.with_runtime(config_path, body)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level `runbook` app."""

    @app.command()
    def ask(
        question: Annotated[str, typer.Argument(help="A question or request in plain language.")],
        session: Annotated[str, typer.Option("--session", "-s", help="Conversation to continue (follow-ups).")] = "terminal",
        verbose: Annotated[bool, typer.Option("--verbose", help="Show each tool call, the tokens used and the AWS API calls made.")] = False,
        config: ConfigOption = None
    ) -> None:
        """Ask runbook in plain language: "Show errors for checkout-api last 10 minutes"."""
        from agent.cli import aws_calls_shown

        with aws_calls_shown(verbose):
            code = _ask(question, session, verbose, config)
        raise typer.Exit(code)

    @app.command()
    def chat(
        verbose: Annotated[bool, typer.Option("--verbose", help="Show each tool call and the tokens used.")] = False,
        config: ConfigOption = None
    ) -> None:
        """A conversation in the terminal; follow-ups keep their context. Empty line or Ctrl-D ends it."""
        session = "chat-" + uuid.uuid4().hex[:8]
        while True:
            try:
                question = input("you> ").strip()
            except EOFError:
                break
            if not question or question in ("exit", "quit"):
                break
            _ask(question, session, verbose, config)
        raise typer.Exit(0)

    @app.command()
    def status(
        service: Annotated[Optional[str], typer.Argument(help="Only this service.")] = None,  # noqa: UP045
        environment: Annotated[Optional[str], typer.Option("--environment", "-e", help="Only this environment.")] = None,  # noqa: UP045
        config: ConfigOption = None,
        verbose: Annotated[bool, typer.Option("--verbose", help="Also print how many AWS API calls and retries the command made (ECS environments).")] = False,
    ) -> None:
        """Version, task health, recent deploys and alarms per service and environment."""
        from agent.cli import aws_calls_shown

        with aws_calls_shown(verbose):
            code = _status(service, environment, config)
        raise typer.Exit(code)
