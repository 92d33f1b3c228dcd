"""ECS task definitions: copy one with only the image changed (reading them is `tools.task_definitions`)."""

from __future__ import annotations

from typing import Any

from tools.task_definitions import (  # noqa: F401 - re-exported for the ECS backend
    REGISTER_FIELDS,
    digest_of,
    pick_container,
    repository_of,
    to_model,
    version_of,
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
