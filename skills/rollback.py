"""Rollback: go back to the version that ran before the deploy being undone (or a named one), through the
deploy pipeline and all of its gates (pre-checks, canary, a person's approval, validation)."""

from __future__ import annotations

from collections.abc import Callable

from memory.errors import UserError
from skills.deploy import DeployRequest, run_deploy
from skills.deploy.context import TerminalPrompt
from skills.deploy.way_back import find_way_back
from skills.events import Event
from skills.resources import Resources
from tools.backend import target_for


class NoRollbackTarget(UserError):
    """The scratchpad has nothing to roll back to; one sentence for the user."""


def previous_version(resources: Resources, service: str, environment: str) -> str:
    """The version that ran before the deploy that put the running revision in place, from the deployment
    records and the platform (what actually ran, whatever those deploys' outcomes)."""
    target = target_for(resources.config, service, environment)
    running = resources.backend(environment).platform.describe_service(target)
    way = find_way_back(resources.store.list_deployments(service, environment, limit=200), running.revision)
    if way is None:
        raise NoRollbackTarget(
            f"No deploy on record put {service} {running.version} (revision {running.revision}) in place in"
            f" {environment}, so runbook cannot tell what ran before it;"
            f" name the version: runbook rollback {service} --environment {environment} --to VERSION."
        )
    return way.version


def rollback_target(resources: Resources, service: str, environment: str | None,
                    to: str | None = None) -> tuple[str, str]:
    """(environment, version) a rollback of `service` would go to; raises ConfigError / NoRollbackTarget."""
    env_name = resources.config.environment(environment)[0]
    resources.config.service(service)
    if to:
        return env_name, to
    return env_name, previous_version(resources, service, env_name)


def run_rollback(resources: Resources, service: str, environment: str | None, sink: Callable[[Event], None],
                 to: str | None = None, terminal_prompt: TerminalPrompt | None = None,
                 despite_alarms: bool = False) -> int:
    """Run the rollback as a deploy of kind "rollback", requested by the runtime's user; its exit code.
    Alarms raised since the deploy it undoes started never stop it; `despite_alarms`: nor do older ones."""
    env_name, version = rollback_target(resources, service, environment, to)
    me = resources.identity(env_name)
    request = DeployRequest(service=service, version=version, environment=env_name, requester=me.name,
                            requester_via=me.via, kind="rollback", despite_alarms=despite_alarms)
    return run_deploy(resources, request, sink, terminal_prompt=terminal_prompt)
