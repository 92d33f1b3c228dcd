"""The one family of errors a person can cause or fix, whichever layer raises them.

Each ends a command with one sentence on stderr and the exit code of its class; `agent.cli` maps
them in one place. Subclasses: `tools.config.ConfigError`, `tools.backend.BackendError`,
`skills.deploy.context.DeployInputError`, `skills.approval.ApprovalError`, `memory.database.StateError`.
"""

from __future__ import annotations

# Exit codes shared by every command (the README's table).
EXIT_FAILED = 1  # something unexpected; the deploy cleaned up after itself
EXIT_BAD_INPUT = 2  # bad input or configuration: nothing ran
EXIT_STATE = 8  # runbook's state (the database, the state folder) cannot be used: nothing changed


class UserError(Exception):
    """An error the person can fix: one sentence, the class's exit code, and nothing changed."""

    exit_code: int = EXIT_BAD_INPUT

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class StateError(UserError):
    """runbook's state (its database, its state folder) cannot be used: one sentence naming the file or
    URL (password masked) and what to do. Raised by ``memory.database`` (and importable from there)."""

    exit_code = EXIT_STATE
