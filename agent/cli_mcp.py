"""CLI commands for `runbook mcp ...`. The MCP SDK is imported inside the command, never by `--help`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level `runbook` app."""
    mcp_app = typer.Typer(help="runbook's tools for MCP clients (Claude Desktop, IDEs).",
                          no_args_is_help=True, rich_markup_mode=None)
    app.add_typer(mcp_app, name="mcp")

    @mcp_app.command("serve")
    def serve(
        transport: Annotated[str, typer.Option("--transport", "-t", help="stdio (an MCP client starts this command) or http (streamable HTTP).")] = "stdio",
        port: Annotated[int, typer.Option("--port", "-p", help="HTTP port.")] = 8765,
        host: Annotated[str, typer.Option("--host", help="Address to bind for http: loopback only (127.0.0.1, localhost, ::1).")] = "127.0.0.1",
        allow_changes: Annotated[bool, typer.Option("--allow-changes", help="Also offer request_deploy and request_rollback: each starts the deploy skill with every gate and waits for a person's approval; nothing over MCP can approve.")] = False,
        config: Annotated[Optional[Path], typer.Option("--config", "-c", help="Path to runbook.yaml (default: found from the working directory, else the built-in sandbox).", dir_okay=False)] = None,  # noqa: UP045
    ) -> None:
        """Serve runbook's read-only tools (status, history, errors, metrics, investigate, recall) to an MCP client.

        Every call acts as this runtime's identity (as `runbook deploy` would), never as a name the client sends. Change tools are offered only with --allow-changes, and even then a deploy waits for a person's approval like any other (in production from someone other than the requester).
        """
        from agent import commands

        def body() -> int:
            from agent.mcp_server import serve as run

            return run(config, transport.lower(), host, port, allow_changes)

        raise typer.Exit(commands.run(body))
