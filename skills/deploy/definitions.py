"""Task definitions as code: `runbook deploy SERVICE --task-definition PATH` deploys the definition a team keeps
in its repository (the JSON `aws ecs register-task-definition --cli-input-json` takes); step 2 shows what it
changes against the running revision, by name, never a secret's value."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from skills.deploy.context import DeployInputError
from skills.events import ConfigChange
from tools.backend import BackendError
from tools.config import ServiceConfig
from tools.models import HealthCheckInfo, TaskDefinition
from tools.task_definitions import (
    TaskDefinitionFileError,
    pick_container,
    read_task_definition_file,
    repository_of,
    version_of,
)


def load_definition(path: Path, service: str, config: ServiceConfig, version: str | None) -> tuple[dict[str, Any], str]:
    """The definition in `path` and the version (image tag) its container runs; DeployInputError, before anything
    runs, for a file runbook cannot deploy for this service."""
    try:
        definition = read_task_definition_file(path)
        container = pick_container(definition, config.container)
    except TaskDefinitionFileError as exc:
        raise DeployInputError(str(exc)) from None
    except BackendError:  # several containers, none of that name
        names = ", ".join(str(c.get("name", "?")) for c in definition["containerDefinitions"])
        raise DeployInputError(f"{path}: has no container '{config.container}' (it has {names}); name the one"
                               " to deploy so, or set container in runbook.yaml.") from None
    image = str(container.get("image") or "")
    if repository_of(image) != config.image_repository:
        raise DeployInputError(f"{path}: container {container.get('name')} runs {image or 'no image'}, but {service}"
                               f" deploys images of {config.image_repository} (image_repository in runbook.yaml).")
    tag = version_of(image)
    if tag == "latest" or tag.startswith("sha256:") or ":" not in image.split("@", 1)[0].rsplit("/", 1)[-1]:
        raise DeployInputError(f"{path}: container {container.get('name')}'s image {image} names no tag; give it the"
                               " version to deploy (repo:1.2.3, or repo:1.2.3@sha256:…).")
    if version is not None and version != tag:
        raise DeployInputError(f"{path}: container {container.get('name')} runs {tag}, not --version {version};"
                               " leave --version out or make them agree.")
    return definition, tag


def definition_changes(current: TaskDefinition, new: TaskDefinition) -> list[ConfigChange]:
    """What deploying `new` changes against the running revision: image, CPU, memory, each environment variable
    added, removed or changed (by name: values can be sensitive too), each secret by name and reference
    (never a value), ports and the container health check."""
    changes = [
        ConfigChange(field="Image", before=current.version, after=new.version),
        ConfigChange(field="Memory", before=f"{current.memory_mb} MB", after=f"{new.memory_mb} MB"),
        ConfigChange(field="CPU", before=f"{current.cpu} units", after=f"{new.cpu} units"),
    ]
    for name in sorted(set(current.environment) | set(new.environment)):
        was, now = current.environment.get(name), new.environment.get(name)
        if was != now:
            changes.append(ConfigChange(field=f"Env {name}", before="" if was is None else "set",
                                        after="" if now is None else ("set" if was is None else "changed")))
    for name in sorted(set(current.secrets) | set(new.secrets)):
        was, now = current.secrets.get(name), new.secrets.get(name)
        if was != now:
            changes.append(ConfigChange(field=f"Secret {name}", before=was or "", after=now or ""))
    if current.ports != new.ports:
        changes.append(ConfigChange(field="Ports", before=", ".join(current.ports), after=", ".join(new.ports)))
    if _health(current.health_check) != _health(new.health_check):
        changes.append(ConfigChange(field="Health check", before=_health(current.health_check),
                                    after=_health(new.health_check)))
    return changes


def _health(check: HealthCheckInfo | None) -> str:
    if check is None:
        return ""
    command = check.command[1:] if check.command[:1] in (["CMD"], ["CMD-SHELL"]) else check.command
    start = f", start period {check.start_period_seconds}s" if check.start_period_seconds else ""
    return f"{' '.join(command)} every {check.interval_seconds}s{start}"
