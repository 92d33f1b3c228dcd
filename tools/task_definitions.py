"""Task definitions as ECS writes them (the JSON of `aws ecs register-task-definition --cli-input-json`):
read one into the typed model, and read a team's task-definition file. Pure functions: no AWS client here,
so the sandbox and the skills use them too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tools.backend import BackendError
from tools.models import HealthCheckInfo, TaskDefinition

# What register_task_definition accepts; everything else in a description is AWS bookkeeping.
REGISTER_FIELDS = (
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
    "enableFaultInjection",
)


def version_of(image: str) -> str:
    """The tag of an image reference ('repo/app:1.2.3', 'repo/app:1.2.3@sha256:…' -> '1.2.3'); 'latest' when it
    has neither tag nor digest, the short digest ('sha256:0123456789ab') when it is pinned by digest only."""
    name = image.split("@", 1)[0].rsplit("/", 1)[-1]
    if ":" in name:
        return name.split(":", 1)[1]
    digest = digest_of(image)
    return digest[:19] if digest else "latest"


def digest_of(image: str) -> str | None:
    """'repo@sha256:…' or 'repo:tag@sha256:…' -> 'sha256:…'; None for an image referenced by tag only."""
    return image.split("@", 1)[1] if "@" in image else None


def repository_of(image: str) -> str:
    """'host/team/app:1.2.3@sha256:…' -> 'host/team/app'."""
    base = image.split("@", 1)[0]
    head, _, last = base.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


def pick_container(raw: dict[str, Any], name: str) -> dict[str, Any]:
    containers = raw.get("containerDefinitions", [])
    for container in containers:
        if container.get("name") == name:
            return dict(container)
    if len(containers) == 1:
        return dict(containers[0])
    names = ", ".join(c.get("name", "?") for c in containers)
    raise BackendError(
        f"Task definition {raw.get('family')}:{raw.get('revision')} has no container '{name}'"
        f" (it has {names}); set container in runbook.yaml."
    )


def to_model(raw: dict[str, Any], container_name: str, tags: dict[str, str] | None = None) -> TaskDefinition:
    """The typed task definition; `tags` (digest -> tag) names the version of an image pinned by digest only."""
    container = pick_container(raw, container_name)
    check = container.get("healthCheck")
    health = None
    if check:
        command = list(check.get("command", []))
        health = HealthCheckInfo(
            path=None,
            protocol="CMD",
            interval_seconds=int(check.get("interval", 30)),
            command=command[1:] if command[:1] in (["CMD"], ["CMD-SHELL"]) else command,
            start_period_seconds=int(check.get("startPeriod") or 0),
        )
    return TaskDefinition(
        family=raw["family"],
        revision=int(raw.get("revision") or 0),
        container=container["name"],
        image=container["image"],
        version=(tags or {}).get(digest_of(container["image"]) or "") or version_of(container["image"]),
        cpu=int(raw.get("cpu") or container.get("cpu") or 0),
        memory_mb=int(
            raw.get("memory") or container.get("memory") or container.get("memoryReservation") or 0
        ),
        environment={e["name"]: e.get("value", "") for e in container.get("environment", [])},
        ports=[f"{p.get('containerPort')}/{p.get('protocol', 'tcp')}" for p in container.get("portMappings", [])],
        secrets={s["name"]: s["valueFrom"] for s in container.get("secrets", [])},
        health_check=health,
        arn=raw.get("taskDefinitionArn"),
    )



class TaskDefinitionFileError(BackendError):
    """A task-definition file runbook cannot deploy; the message names the file and what is wrong."""


def read_task_definition_file(path: Path) -> dict[str, Any]:
    """The task definition in `path`, as `register-task-definition --cli-input-json` takes it (tags included)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TaskDefinitionFileError(f"{path}: no such task-definition file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskDefinitionFileError(f"{path}: cannot be read ({exc.__class__.__name__}).") from None
    except json.JSONDecodeError as exc:
        raise TaskDefinitionFileError(f"{path}: not valid JSON at line {exc.lineno}.") from None
    if not isinstance(data, dict):
        raise TaskDefinitionFileError(f"{path}: expected a JSON object (a task definition), got {type(data).__name__}.")
    unknown = sorted(set(data) - set(REGISTER_FIELDS) - {"tags"})
    if unknown:
        raise TaskDefinitionFileError(
            f"{path}: {', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} not part of a task definition"
            " register-task-definition takes (a description's bookkeeping such as revision or status does not"
            " belong in the file).")
    containers = data.get("containerDefinitions")
    if not isinstance(containers, list) or not containers or not all(isinstance(c, dict) for c in containers):
        raise TaskDefinitionFileError(f"{path}: containerDefinitions must list at least one container.")
    if not isinstance(data.get("family"), str) or not data["family"]:
        raise TaskDefinitionFileError(f"{path}: family is missing.")
    return data


def registrable(raw: dict[str, Any], tags: list[dict[str, str]]) -> dict[str, Any]:
    """register_task_definition arguments from a task definition (a file's, or a description's)."""
    args = {key: raw[key] for key in REGISTER_FIELDS if raw.get(key) not in (None, [], {})}
    if raw.get("tags") or tags:
        args["tags"] = raw.get("tags") or tags
    return args


def pin_image(definition: dict[str, Any], container: str, reference: str) -> dict[str, Any]:
    """The definition with `container`'s image replaced by `reference` (the approved `repo:tag@sha256:…`)."""
    pinned = dict(definition)
    pinned["containerDefinitions"] = [dict(c, image=reference) if c.get("name") == container else c
                                      for c in definition.get("containerDefinitions", [])]
    return pinned
