"""CLI commands for `runbook slack ...`. Keep imports here light: heavy ones go inside the commands."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from agent.cli_options import current, with_global_options


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level `runbook` app."""
    slack_app = typer.Typer(help="The Slack bot: approval cards, Approve/Deny clicks, questions.",
                            no_args_is_help=True, rich_markup_mode=None)
    app.add_typer(slack_app, name="slack")

    @slack_app.command("serve", epilog="\b\nExamples:\n  SLACK_BOT_TOKEN=... SLACK_SIGNING_SECRET=... runbook slack serve --port 3000\n"
                                       "  runbook -o json slack serve   # one \"serving\" JSON line once it listens")
    @with_global_options
    def serve(
        port: Annotated[Optional[int], typer.Option("--port", "-p", help="HTTP port (default: slack.port).")] = None,  # noqa: UP045
        host: Annotated[Optional[str], typer.Option("--host", help="Address to bind (default: slack.host).")] = None,  # noqa: UP045
        mode: Annotated[Optional[str], typer.Option("--mode", help="http or socket (default: slack.mode; auto = socket when SLACK_APP_TOKEN is set).")] = None,  # noqa: UP045
    ) -> None:
        """Run the Slack bot: approval clicks, mentions and DMs (it owns all inbound Slack traffic).

        Approve/Deny clicks are recorded in the shared store, where waiting deploys find them.

        Tokens come from the environment: SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, plus SLACK_APP_TOKEN for Socket Mode.
        """
        from agent.slack.service import run_service

        raise typer.Exit(run_service(current().config, port, host, mode))
