"""ECS task definitions: read one into the typed model, and copy one with only the image changed."""

from __future__ import annotations

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
        revision=int(raw["revision"]),
        container=container["name"],
        image=container["image"],
        version=(tags or {}).get(digest_of(container["image"]) or "") or version_of(container["image"]),
        cpu=int(raw.get("cpu") or container.get("cpu") or 0),
        memory_mb=int(
            raw.get("memory") or container.get("memory") or container.get("memoryReservation") or 0
        ),
        environment={e["name"]: e.get("value", "") for e in container.get("environment", [])},
        secrets={s["name"]: s["valueFrom"] for s in container.get("secrets", [])},
        health_check=health,
        arn=raw.get("taskDefinitionArn"),
    )


def copy_with_image(
    raw: dict[str, Any], tags: list[dict[str, str]], container_name: str, image: str
) -> dict[str, Any]:
    """register_task_definition arguments: `raw` as is, except the named container's image."""
    wanted = pick_container(raw, container_name)["name"]
    args = {key: raw[key] for key in REGISTER_FIELDS if raw.get(key) not in (None, [], {})}
    args["containerDefinitions"] = [
        dict(c, image=image) if c.get("name") == wanted else c for c in raw["containerDefinitions"]
    ]
    if tags:
        args["tags"] = tags
    return args
