"""The global options: given once before the command (`runbook -o json status`), or after it as scripts
have always written them (`runbook status --output json`, hidden from each command's help).

    @app.command()
    @with_global_options
    def status(...) -> None:
        opts = current()          # config, output, verbose, quiet, profile, region, yes

A value given after the command wins over one given before it. Kept light (typer only): it is
imported for `--help`.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

if TYPE_CHECKING:
    from tools.config_env import Flags


class Output(StrEnum):
    auto = "auto"  # rich on a terminal, plain otherwise (or with NO_COLOR)
    rich = "rich"
    plain = "plain"
    json = "json"


OUTPUT_HELP = ("auto (rich on a terminal, else plain), rich, plain, or json: JSON lines of typed events for"
               " deploy, rollback, resume, sandbox demo and chat, one JSON document for every other command.")


@dataclass(frozen=True)
class GlobalOptions:
    config: Path | None = None
    output: str = "auto"
    verbose: bool = False
    quiet: bool = False
    profile: str | None = None
    region: str | None = None

    @property
    def json(self) -> bool:
        return self.output == "json"

    @property
    def flags(self) -> Flags:
        """The options that are settings (the first of flags > environment > file > defaults)."""
        from tools.config_env import Flags

        return Flags(profile=self.profile, region=self.region)


_current = GlobalOptions()


def current() -> GlobalOptions:
    """The options of the command being run."""
    return _current


def start(options: GlobalOptions) -> None:
    """Set by the top-level callback, before the command (each invocation starts afresh)."""
    global _current
    _current = options


def _given(**values: Any) -> None:
    global _current
    chosen = {name: value for name, value in values.items() if value not in (None, False)}
    if isinstance(chosen.get("output"), Output):
        chosen["output"] = chosen["output"].value
    _current = replace(_current, **chosen)


ConfigOption = Annotated[
    Optional[Path],  # noqa: UP045 - typer needs Optional here
    typer.Option("--config", "-c", metavar="PATH", dir_okay=False,
                 help="runbook.yaml to use (default: RUNBOOK_CONFIG, else ./runbook.yaml or a parent folder's,"
                      " else ~/.config/runbook/runbook.yaml, else the built-in sandbox)."),
]
OutputOption = Annotated[
    Optional[Output],  # noqa: UP045
    typer.Option("--output", "-o", case_sensitive=False, help=OUTPUT_HELP),
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Say more on stderr: AWS API calls and retries, ask's tool calls and tokens.")
]
QuietOption = Annotated[
    bool, typer.Option("--quiet", "-q", help="Only the result: no progress, notes or banners (a wait is still announced).")
]
ProfileOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--profile", metavar="NAME", help="AWS profile for ECS environments (over AWS_PROFILE and the config's)."),
]
RegionOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--region", metavar="REGION",
                 help="AWS region for ECS environments (over AWS_REGION, AWS_DEFAULT_REGION and the config's)."),
]


def _hidden(annotation: Any) -> Any:
    """The same option, accepted after the command but not listed in its help."""
    base, info = typing.get_args(annotation)
    names = (info.default, *info.param_decls)  # in Annotated, Option's first name is kept as its `default`
    option = typer.Option(*names, hidden=True, metavar=info.metavar,
                          case_sensitive=info.case_sensitive, dir_okay=info.dir_okay, help=info.help)
    return Annotated[base, option]  # type: ignore[valid-type]


_GLOBALS: dict[str, tuple[Any, Any]] = {
    "config": (ConfigOption, None), "output": (OutputOption, None), "verbose": (VerboseOption, False),
    "quiet": (QuietOption, False), "profile": (ProfileOption, None), "region": (RegionOption, None),
}
assert set(_GLOBALS) == {f.name for f in fields(GlobalOptions)}


def with_global_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """`function` as a command that also takes the global options after its name (hidden)."""
    hints = typing.get_type_hints(function, include_extras=True)
    signature = inspect.signature(function)
    own = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values()]
    extra = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=_hidden(annotation), default=default)
             for name, (annotation, default) in _GLOBALS.items()]

    @functools.wraps(function)
    def command(*args: Any, **kwargs: Any) -> Any:
        _given(**{name: kwargs.pop(name, None) for name in _GLOBALS})
        return function(*args, **kwargs)

    command.__signature__ = signature.replace(parameters=own + extra)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in own + extra}
    return command
