"""Rollback: go back to the previous version recorded in the scratchpad (or a named one), through the
deploy pipeline and all of its gates (pre-checks, canary, a person's approval, validation)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from memory.scratchpad import Scratchpad
from skills.deploy import DeployRequest, run_deploy
from skills.deploy.context import TerminalPrompt
from skills.events import Event
from tools.config import RunbookConfig


class NoRollbackTarget(Exception):
    """The scratchpad has nothing to roll back to; one sentence for the user."""


def previous_version(store: Scratchpad, service: str, environment: str) -> str:
    """The version that ran before the current one, from the scratchpad's successful deploys."""
    done = [d for d in store.list_deployments(service, environment, limit=200) if d.status == "succeeded"]
    if not done or not done[0].from_version:
        raise NoRollbackTarget(
            f"The scratchpad has no successful deploy of {service} to {environment} to roll back from;"
            f" name the version: runbook rollback {service} --environment {environment} --to VERSION."
        )
    return done[0].from_version


def rollback_target(config: RunbookConfig, state_dir: Path, service: str, environment: str | None,
                    to: str | None = None) -> tuple[str, str]:
    """(environment, version) a rollback of `service` would go to; raises ConfigError / NoRollbackTarget."""
    env_name = config.environment(environment)[0]
    config.service(service)
    if to:
        return env_name, to
    store = Scratchpad.in_dir(state_dir)
    try:
        return env_name, previous_version(store, service, env_name)
    finally:
        store.close()


def run_rollback(config: RunbookConfig, service: str, environment: str | None, requester: str,
                 sink: Callable[[Event], None], state_dir: Path, to: str | None = None,
                 terminal_prompt: TerminalPrompt | None = None) -> int:
    """Run the rollback as a deploy of kind "rollback"; returns the deploy's exit code."""
    env_name, version = rollback_target(config, state_dir, service, environment, to)
    request = DeployRequest(service=service, version=version, environment=env_name, requester=requester,
                            kind="rollback")
    return run_deploy(config, request, sink, state_dir, terminal_prompt=terminal_prompt)
