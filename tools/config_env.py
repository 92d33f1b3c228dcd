"""Where each setting comes from: flags > environment > runbook.yaml > defaults. The environment variables
runbook's settings read are read here, once per command, and nowhere else.

* Every field of runbook.yaml can be set with ``RUNBOOK_<FIELD>``, nested fields joined by ``__``
  (``RUNBOOK_KNOWLEDGE__ENABLED=false``, ``RUNBOOK_ENVIRONMENTS__STAGING__CLUSTER=shop-staging``,
  ``RUNBOOK_SLACK__USERS='{"bob": "U0BOB0002"}'``: a list or mapping is written as JSON). Names are
  case-insensitive and a ``-`` in a service or environment name is written ``_``
  (``RUNBOOK_SERVICES__CHECKOUT_API__THRESHOLDS__P99_LATENCY_MS=400``). pydantic-settings reads them.
* The older names keep working: ``RUNBOOK_KNOWLEDGE_URL``, ``RUNBOOK_KNOWLEDGE_ENABLED``,
  ``RUNBOOK_TIME_SCALE`` (their nested spelling wins when both are set).
* AWS, as the AWS CLI orders it: ``--profile`` > ``AWS_PROFILE`` > the environment's ``profile``;
  ``--region`` > ``AWS_REGION`` > ``AWS_DEFAULT_REGION`` > the environment's ``region`` (then the AWS
  profile's own region). The same for the Bedrock model's ``agent.profile`` / ``agent.region``.
* Not settings, but read here too: ``RUNBOOK_CONFIG`` (which file), ``XDG_CONFIG_HOME`` (where the user's
  file lives), ``RUNBOOK_DEBUG``, ``AWS_MAX_ATTEMPTS`` and ``AWS_ENDPOINT_URL``.

pydantic-settings is imported only when a ``RUNBOOK_*`` setting is present, never for ``--help``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tools.config import RunbookConfig

PREFIX = "RUNBOOK_"
DELIMITER = "__"
NOT_SETTINGS = frozenset({"RUNBOOK_CONFIG", "RUNBOOK_DEBUG"})
LEGACY_NAMES: dict[str, tuple[str, ...]] = {  # older spellings, still honoured
    "RUNBOOK_KNOWLEDGE_URL": ("knowledge", "server_url"),
    "RUNBOOK_KNOWLEDGE_ENABLED": ("knowledge", "enabled"),
    "RUNBOOK_TIME_SCALE": ("sandbox", "time_scale"),
}
# Fields of RunbookConfig that say where the file came from: never settings.
NOT_FIELDS = frozenset({"source", "path", "found_by", "base_dir"})
DEFAULT_AWS_MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class Flags:
    """The command line's settings (the first of the four layers)."""

    profile: str | None = None
    region: str | None = None


@dataclass(frozen=True)
class ProcessEnvironment:
    """What the process environment says, read once by `read_environment`."""

    settings: Mapping[str, str] = field(default_factory=dict)  # RUNBOOK_* settings, as given
    config_file: str | None = None  # RUNBOOK_CONFIG
    xdg_config_home: str | None = None
    debug: bool = False  # RUNBOOK_DEBUG: tracebacks of unexpected errors
    aws_profile: str | None = None
    aws_region: tuple[str, str] | None = None  # (variable, value): AWS_REGION, else AWS_DEFAULT_REGION
    aws_max_attempts: str | None = None
    aws_endpoint_url: str | None = None  # a local stand-in of AWS (tests, benchmarks)


def read_environment(environ: Mapping[str, str] | None = None) -> ProcessEnvironment:
    environ = os.environ if environ is None else environ
    settings = {name: value for name, value in environ.items()
                if name.upper().startswith(PREFIX) and name.upper() not in NOT_SETTINGS and value != ""}
    region = next(((name, environ[name]) for name in ("AWS_REGION", "AWS_DEFAULT_REGION") if environ.get(name)), None)
    return ProcessEnvironment(
        settings=settings, config_file=environ.get("RUNBOOK_CONFIG") or None,
        xdg_config_home=environ.get("XDG_CONFIG_HOME") or None, debug=bool(environ.get("RUNBOOK_DEBUG")),
        aws_profile=environ.get("AWS_PROFILE") or None, aws_region=region,
        aws_max_attempts=environ.get("AWS_MAX_ATTEMPTS") or None, aws_endpoint_url=environ.get("AWS_ENDPOINT_URL") or None,
    )


def debug_enabled() -> bool:
    """RUNBOOK_DEBUG: show the traceback of an unexpected error."""
    return read_environment().debug


# -- the environment layer: RUNBOOK_* variables over the file ----------------------------------------


def _normal(key: str) -> str:
    return key.lower().replace("-", "_")


def _matching_key(data: Mapping[str, Any], key: str) -> str:
    """The file's spelling of `key` (environment names are upper-case and have no hyphens)."""
    return next((existing for existing in data if isinstance(existing, str) and _normal(existing) == _normal(key)), key)


def _merge(base: dict[str, Any], layer: Mapping[str, Any], origins: dict[tuple[str, ...], str],
           path: tuple[str, ...] = (), names: tuple[str, ...] = ()) -> None:
    """`layer` over `base`, in place; each value taken is recorded in `origins` under its variable."""
    for key, value in layer.items():
        target = _matching_key(base, key)
        here, spelled = (*path, target), (*names, key)
        if isinstance(value, dict) and isinstance(base.get(target), dict):
            _merge(base[target], value, origins, here, spelled)
        else:
            base[target] = value
            origins[here] = PREFIX + DELIMITER.join(spelled).upper()


def _nested_settings(variables: Mapping[str, str]) -> dict[str, Any]:
    """RUNBOOK_A__B=... as {"a": {"b": ...}}, typed by RunbookConfig's fields (JSON for lists and mappings)."""
    from pydantic import create_model
    from pydantic_settings import BaseSettings, EnvSettingsSource
    from pydantic_settings.sources.utils import parse_env_vars

    from tools.config import ConfigError, RunbookConfig

    fields: dict[str, Any] = {name: (info.annotation, None) for name, info in RunbookConfig.model_fields.items()
                              if name not in NOT_FIELDS}
    layer = create_model("RunbookEnvironmentLayer", __base__=BaseSettings, **fields)

    class Source(EnvSettingsSource):
        def _load_env_vars(self) -> Mapping[str, str | None]:
            return parse_env_vars(variables, False, True, None)

    try:
        return Source(layer, case_sensitive=False, env_prefix=PREFIX, env_nested_delimiter=DELIMITER)()
    except Exception as exc:  # pydantic-settings' SettingsError: a list or mapping that is not JSON
        field_name = str(exc).split('"')[1] if '"' in str(exc) else "?"
        raise ConfigError(f"{PREFIX}{field_name.upper()}: not valid JSON (a list or mapping is written as JSON,"
                          f" e.g. '[\"alice\"]' or '{{\"bob\": \"U0BOB0002\"}}').") from None


def apply_layers(file_data: dict[str, Any], process: ProcessEnvironment,
                 flags: Flags) -> tuple[dict[str, Any], dict[tuple[str, ...], str], list[str]]:
    """The file's data (or the built-in config's) with the environment, then the flags, over it.

    Returns (data, origins, notes): `origins` names the variable or flag behind each value that did not
    come from the file; `notes` says where an AWS variable or flag replaced a profile or region the
    config names (so nobody deploys with another account's credentials without being told).
    """
    import copy

    data = copy.deepcopy(file_data)
    origins: dict[tuple[str, ...], str] = {}
    upper = {name.upper(): value for name, value in process.settings.items()}
    for name, path in LEGACY_NAMES.items():
        if name in upper:
            section = data.setdefault(path[0], {})
            if isinstance(section, dict):
                section[path[1]] = upper[name]
                origins[path] = name
    rest = {name: value for name, value in upper.items() if name not in LEGACY_NAMES}
    if rest:
        _merge(data, _nested_settings(rest), origins)
    notes = _aws_layers(data, process, flags, origins)
    return data, origins, notes


def _aws_layers(data: dict[str, Any], process: ProcessEnvironment, flags: Flags,
                origins: dict[tuple[str, ...], str]) -> list[str]:
    """--profile > AWS_PROFILE > the config's; --region > AWS_REGION > AWS_DEFAULT_REGION > the config's."""
    profile = ("--profile", flags.profile) if flags.profile else \
        ("AWS_PROFILE", process.aws_profile) if process.aws_profile else None
    region = ("--region", flags.region) if flags.region else process.aws_region
    if profile is None and region is None:
        return []
    sections: list[tuple[str, dict[str, Any]]] = [
        (f"environments.{name}", env) for name, env in (data.get("environments") or {}).items()
        if isinstance(env, dict) and env.get("backend") == "ecs"]
    agent = data.setdefault("agent", {})
    if isinstance(agent, dict):
        sections.append(("agent", agent))
    notes: list[str] = []
    for where, section in sections:
        noted = where != "agent"  # the model's region is no deploy's: not worth a line on every command
        for key, chosen in (("profile", profile), ("region", region)):
            if chosen is None:
                continue
            var, value = chosen
            configured = section.get(key)
            path = (*where.split("."), key)
            if noted and configured and configured != value:
                came_from = origins.get(path, "runbook.yaml")
                notes.append(f"{var} {value} is used instead of {where}.{key} {configured} ({came_from}).")
            section[key] = value
            origins[path] = var
    return notes


def origin_of(location: tuple[Any, ...], origins: Mapping[tuple[str, ...], str]) -> str | None:
    """The variable or flag that gave the value at `location` (a validation error's loc), if any."""
    path = tuple(str(part) for part in location)
    for end in range(len(path), 0, -1):
        if path[:end] in origins:
            return origins[path[:end]]
    return None


def aws_max_attempts(config: RunbookConfig) -> int:
    """AWS_MAX_ATTEMPTS (total attempts of one AWS call, retries included), default 10."""
    from tools.config import ConfigError

    raw = config.process.aws_max_attempts or str(DEFAULT_AWS_MAX_ATTEMPTS)
    try:
        return max(1, int(raw))
    except ValueError:
        raise ConfigError(f"AWS_MAX_ATTEMPTS must be a whole number, got '{raw}'.") from None
