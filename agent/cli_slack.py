"""CLI commands for `runbook slack ...` (the Slack approvals issue). Keep imports here light: heavy ones go inside the commands."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to the top-level `runbook` app."""
