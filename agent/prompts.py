"""Prompt files from the `prompts` package (importlib.resources), filled with the config's names."""

from __future__ import annotations

from importlib import resources

from tools.config import RunbookConfig


def load_prompt(name: str) -> str:
    return resources.files("prompts").joinpath(name).read_text(encoding="utf-8")


def system_prompt(config: RunbookConfig) -> str:
    return load_prompt("system.md").format(
        default_environment=config.default_environment or "(none)",
        services=", ".join(sorted(config.services)),
        environments=", ".join(sorted(config.environments)),
    )


def offline_help() -> str:
    return load_prompt("offline_help.md").strip()
