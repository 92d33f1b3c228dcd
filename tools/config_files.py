"""Finding and reading `runbook.yaml`. The first of these wins:

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

import yaml

from tools.config import (
    CONFIG_FILENAME,
    ConfigError,
    RunbookConfig,
    check_database_url,
    parse_config,
    sandbox_default_config,
)

FOUND_BY = {
    "flag": "--config",
    "env": "RUNBOOK_CONFIG",
    "cwd": "the working directory",
    "parent": "a parent directory",
    "user": "the user configuration",
    "built-in": "built in",
}


def user_config_path(environ: Mapping[str, str], home: Path) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or str(home / ".config")
    return Path(base) / "runbook" / CONFIG_FILENAME


def find_config(explicit: Path | None, environ: Mapping[str, str], cwd: Path, home: Path) -> tuple[Path | None, str]:
    """(the file to read, how it was found); (None, "built-in") for the built-in sandbox."""
    if explicit is not None:
        return (explicit if explicit.is_absolute() else cwd / explicit), "flag"
    named = environ.get("RUNBOOK_CONFIG")
    if named:
        path = Path(named).expanduser()
        if not path.exists():
            raise ConfigError(f"RUNBOOK_CONFIG names {path}, which does not exist.")
        return (path if path.is_absolute() else cwd / path), "env"
    for folder in (cwd, *cwd.parents):
        candidate = folder / CONFIG_FILENAME
        if candidate.exists():
            return candidate, "cwd" if folder == cwd else "parent"
    user = user_config_path(environ, home)
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


def parse_file(path: Path, cwd: Path) -> RunbookConfig:
    shown = _shown(path, cwd)
    text = _read_text(path, shown)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{shown}: not valid YAML{where}.") from None
    config = parse_config(data, shown)
    config.path = path
    config.base_dir = path.parent
    return config


def apply_environment(config: RunbookConfig, environ: Mapping[str, str]) -> RunbookConfig:
    """Settings the environment overrides (the environment wins over the file)."""
    url = environ.get("RUNBOOK_DATABASE_URL")
    if url:
        try:
            config.database_url = check_database_url(url)
        except ValueError as exc:
            raise ConfigError(f"RUNBOOK_DATABASE_URL: {exc}.") from None
    knowledge_url = environ.get("RUNBOOK_KNOWLEDGE_URL")
    if knowledge_url:
        config.knowledge.server_url = knowledge_url
    enabled = environ.get("RUNBOOK_KNOWLEDGE_ENABLED")
    if enabled:
        if enabled.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
            raise ConfigError(f"RUNBOOK_KNOWLEDGE_ENABLED must be true or false, got '{enabled}'.")
        config.knowledge.enabled = enabled.lower() in ("true", "1", "yes", "on")
    return config


def read_config(explicit: Path | None = None, *, environ: Mapping[str, str] | None = None,
                cwd: Path | None = None, home: Path | None = None) -> RunbookConfig:
    """The configuration `runbook` uses here, with the environment's overrides applied."""
    environ = os.environ if environ is None else environ
    cwd = cwd or Path.cwd()
    path, how = find_config(explicit, environ, cwd, home or Path.home())
    config = sandbox_default_config(base_dir=cwd) if path is None else parse_file(path, cwd)
    config.found_by = how
    return apply_environment(config, environ)


def time_scale_setting(default: float, environ: Mapping[str, str] | None = None) -> float:
    """`RUNBOOK_TIME_SCALE` (0 = instant, 60 = a minute per wall second), else `default`."""
    raw = (os.environ if environ is None else environ).get("RUNBOOK_TIME_SCALE")
    if raw is None or raw == "":
        return default
    try:
        scale = float(raw)
    except ValueError:
        scale = -1.0
    if not scale >= 0:  # also refuses nan
        raise ConfigError(f"RUNBOOK_TIME_SCALE must be a number of at least 0, got '{raw}'.")
    return scale
