"""CLI commands for `runbook mcp ...`. The MCP SDK is imported inside the command, never by `--help`."""

from __future__ import annotations

from typing import Annotated

import typer

from agent.cli_options import current, with_global_options


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level `runbook` app."""
    mcp_app = typer.Typer(help="runbook's tools for MCP clients (Claude Desktop, IDEs).",
                          no_args_is_help=True, rich_markup_mode=None)
    app.add_typer(mcp_app, name="mcp")

    @mcp_app.command("serve", epilog="\b\nExamples:\n  runbook mcp serve                      # stdio, as an MCP client starts it\n"
                                     "  runbook mcp serve --transport http --port 8765 --allow-changes")
    @with_global_options
    def serve(
        transport: Annotated[str, typer.Option("--transport", "-t", help="stdio (an MCP client starts this command) or http (streamable HTTP).")] = "stdio",
        port: Annotated[int, typer.Option("--port", "-p", help="HTTP port.")] = 8765,
        host: Annotated[str, typer.Option("--host", help="Address to bind for http: loopback only (127.0.0.1, localhost, ::1).")] = "127.0.0.1",
        allow_changes: Annotated[bool, typer.Option("--allow-changes", help="Also offer request_deploy and request_rollback: each starts the deploy skill with every gate and waits for a person's approval; nothing over MCP can approve.")] = False,
    ) -> None:
        """Serve runbook's read-only tools (status, history, errors, metrics, investigate, recall) to an MCP client.

        Every call acts as this runtime's identity (as `runbook deploy` would), never as a name the client sends. Change tools are offered only with --allow-changes, and even then a deploy waits for a person's approval like any other (in production from someone other than the requester).

        Over stdio, stdout is the MCP protocol's (JSON-RPC, one message per line) and runbook's own lines go to stderr; over http, stdout stays empty. With --output json a failure to start is an "error" JSON line.
        """
        from agent import commands

        def body() -> int:
            from agent.mcp_server import serve as run

            return run(current().config, transport.lower(), host, port, allow_changes)

        raise typer.Exit(commands.run(body, "mcp serve"))
