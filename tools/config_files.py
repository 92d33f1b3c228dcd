"""Finding and reading `runbook.yaml`, then the environment and the flags over it (`tools.config_env`:
flags > environment > file > defaults). The first file of these wins:

1. `--config PATH`
2. `RUNBOOK_CONFIG`
3. `runbook.yaml` in the working directory, then in each parent directory up to the root
4. the user's `$XDG_CONFIG_HOME/runbook/runbook.yaml` (default `~/.config/runbook/runbook.yaml`)
5. the built-in sandbox configuration

Relative paths in the file (state_dir, knowledge.folder, sqlite URLs) are relative to the file's own
folder, so a command run from a subdirectory of a project uses the project's state. A file that cannot
be read ends in one sentence naming it (ConfigError), never in a silent fallback to the sandbox.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tools.config import (
    CONFIG_FILENAME,
    ConfigError,
    RunbookConfig,
    parse_config,
)
from tools.config_env import Flags, ProcessEnvironment, apply_layers, read_environment

FOUND_BY = {
    "flag": "--config",
    "env": "RUNBOOK_CONFIG",
    "cwd": "the working directory",
    "parent": "a parent directory",
    "user": "the user configuration",
    "built-in": "built in",
}


def user_config_path(process: ProcessEnvironment, home: Path) -> Path:
    base = process.xdg_config_home or str(home / ".config")
    return Path(base) / "runbook" / CONFIG_FILENAME


def find_config(explicit: Path | None, process: ProcessEnvironment, cwd: Path, home: Path) -> tuple[Path | None, str]:
    """(the file to read, how it was found); (None, "built-in") for the built-in sandbox."""
    if explicit is not None:
        return (explicit if explicit.is_absolute() else cwd / explicit), "flag"
    named = process.config_file
    if named:
        path = Path(named).expanduser()
        if not path.exists():
            raise ConfigError(f"RUNBOOK_CONFIG names {path}, which does not exist.")
        return (path if path.is_absolute() else cwd / path), "env"
    for folder in (cwd, *cwd.parents):
        candidate = folder / CONFIG_FILENAME
        if candidate.exists():
            return candidate, "cwd" if folder == cwd else "parent"
    user = user_config_path(process, home)
    if user.exists():
        return user, "user"
    return None, "built-in"


def _shown(path: Path, cwd: Path) -> str:
    try:
        return os.path.relpath(path, cwd) if path.resolve().is_relative_to(cwd.resolve()) else str(path)
    except OSError:
        return str(path)


def _read_text(path: Path, shown: str) -> str:
    if not path.exists():
        raise ConfigError(f"{shown}: no such config file.")
    if path.is_dir():
        raise ConfigError(f"{shown} is a directory, not a config file; point --config at the YAML file.")
    try:
        raw = path.read_bytes()
    except PermissionError:
        raise ConfigError(f"{shown} cannot be read (permission denied); check its permissions.") from None
    except OSError as exc:
        raise ConfigError(f"{shown} cannot be read ({exc.strerror or type(exc).__name__}).") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{shown} is not UTF-8 text (line {line}); save it as UTF-8.") from None


def load_file(path: Path, cwd: Path) -> tuple[Any, str]:
    """(the file's YAML data, the file as shown to the person)."""
    shown = _shown(path, cwd)
    text = _read_text(path, shown)
    try:
        return yaml.safe_load(text), shown
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{shown}: not valid YAML{where}.") from None


def parse_file(path: Path, cwd: Path) -> RunbookConfig:
    """The file alone, validated (no environment, no flags)."""
    data, shown = load_file(path, cwd)
    config = parse_config(data, shown)
    config.path = path
    config.base_dir = path.parent
    return config


def layered(data: Any, source: str, process: ProcessEnvironment, flags: Flags) -> RunbookConfig:
    """`data` (a file's, or the built-in config's) with the environment and the flags over it, validated."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level, got {type(data).__name__}.")
    merged, origins, notes = apply_layers(data, process, flags)
    config = parse_config(merged, source, origins)
    config._process, config._origins, config._notes, config._layered = process, origins, notes, True
    return config


def apply_environment(config: RunbookConfig, environ: Mapping[str, str] | None = None,
                      flags: Flags | None = None) -> RunbookConfig:
    """A config validated without them (a test's, the Slack bot's) with the environment and flags over it;
    one read through `read_config` already has them and is returned as it is."""
    if config._layered:
        return config
    again = layered(_given(config), config.source, read_environment(environ), flags or Flags())
    again.path, again.found_by, again.base_dir = config.path, config.found_by, config.base_dir
    return again


def _given(config: RunbookConfig) -> dict[str, Any]:
    """What a config built in code says: the fields set when it was made, and any nested section changed
    after (`config.agent.max_steps = 1` leaves `agent` out of the set fields, but not out of the config)."""
    given = config.model_dump(exclude_unset=True)
    for name, value in config.model_dump(exclude_defaults=True).items():
        if isinstance(value, dict) and isinstance(given.get(name, {}), dict):
            given[name] = _deep(given.get(name, {}), value)
        else:
            given.setdefault(name, value)
    return given


def _deep(base: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep(merged[key], value)
        else:
            merged.setdefault(key, value)
    return merged


def read_config(explicit: Path | None = None, *, environ: Mapping[str, str] | None = None,
                cwd: Path | None = None, home: Path | None = None, flags: Flags | None = None) -> RunbookConfig:
    """The configuration `runbook` uses here: the file found (or the built-in sandbox's), with the
    environment's settings and the flags over it."""
    process = read_environment(environ)
    cwd = cwd or Path.cwd()
    path, how = find_config(explicit, process, cwd, home or Path.home())
    if path is None:
        data, shown = _built_in_data(), "<built-in sandbox>"
    else:
        data, shown = load_file(path, cwd)
    config = layered(data, shown, process, flags or Flags())
    config.path, config.found_by = path, how
    config.base_dir = cwd if path is None else path.parent
    return config


def _built_in_data() -> Any:
    from importlib import resources

    return yaml.safe_load(resources.files("tools").joinpath("sandbox", "default_config.yaml").read_text())
