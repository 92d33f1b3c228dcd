"""`runbook`: the command line. Heavy libraries are imported inside the commands that use them.

Global options (`--config`, `--output`, `--verbose`, `--quiet`, `--profile`, `--region`) come once,
before the command (`runbook -o json status`), or after it as scripts have always written them
(`agent.cli_options`). What goes to stdout and stderr is `agent.cli_output`'s convention.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from agent import cli_agent, cli_knowledge, cli_mcp, cli_slack, commands
from agent.cli_options import (
    ConfigOption,
    GlobalOptions,
    OutputOption,
    ProfileOption,
    QuietOption,
    RegionOption,
    VerboseOption,
    current,
    start,
    with_global_options,
)

app = typer.Typer(
    name="runbook",
    help=(
        "An SRE agent that deploys safely to AWS ECS and answers questions about production.\n\n"
        "With no runbook.yaml it works against a built-in sandbox fleet, so every command can be tried"
        " right away. The options below may also follow the command (runbook status -o json).\n\n"
        "Settings: flags > RUNBOOK_* environment variables > runbook.yaml > defaults; see the README's"
        " \"Settings\" table."
    ),
    epilog=("\b\nExamples:\n  runbook deploy checkout-api --version 1.2.3 --environment production\n"
            "  runbook -o json status checkout-api\n  runbook ask \"is payments-api healthy?\"\n"
            "  runbook --install-completion   # shell completion for bash, zsh, fish or PowerShell"),
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: formatting it with rich costs more than the rest of `--help`
    context_settings={"help_option_names": ["-h", "--help"]},
)
sandbox_app = typer.Typer(help="The built-in sandbox fleet used when no real backend is configured.",
                          no_args_is_help=True, rich_markup_mode=None)
app.add_typer(sandbox_app, name="sandbox")


def _version(value: bool) -> None:
    if value:
        from agent.version import DISTRIBUTION, runbook_version

        print(f"runbook {runbook_version()} ({DISTRIBUTION}, Python {sys.version.split()[0]})")
        raise typer.Exit(0)


@app.callback()
def _global_options(
    config: ConfigOption = None,
    output: OutputOption = None,
    verbose: VerboseOption = False,
    quiet: QuietOption = False,
    profile: ProfileOption = None,
    region: RegionOption = None,
    version: Annotated[bool, typer.Option("--version", "-V", is_eager=True, callback=_version,
                                          help="Print runbook's version and exit.")] = False,
) -> None:
    start(GlobalOptions(config=config, output=output.value if output else "auto", verbose=verbose, quiet=quiet,
                        profile=profile, region=region))


EnvironmentOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--environment", "-e", metavar="ENV", help="Target environment (default: the config's default_environment)."),
]
YesOption = Annotated[
    bool,
    typer.Option("--yes", "-y", help="Approve it yourself where the environment's policy lets the requester"
                                     " approve their own deploy (e.g. staging); refused where it needs someone else."),
]
VersionValue = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--version", metavar="VERSION", help="Image tag to deploy, e.g. 1.2.3: a new revision of the"
                                                      " running task definition with only the image changed."),
]


class _Stderr(logging.Handler):
    """Writes to whatever sys.stderr is when a record arrives (the CLI test runner swaps it per command)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(self.format(record), file=sys.stderr)


@contextmanager
def aws_calls_shown(verbose: bool | None = None) -> Iterator[None]:
    """With --verbose, the INFO summary the AWS backend logs when it closes ("AWS: N API calls, M retries")."""
    if not (current().verbose if verbose is None else verbose):
        yield
        return
    logger, handler = logging.getLogger("tools.aws"), _Stderr()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


EXIT_CODES_DEPLOY = ("Exit codes: 0 success (or dry run) · 1 unexpected failure · 2 bad input (or --yes where"
                     " the policy needs another person) · 3 pre-checks or config failed, nothing changed · 4 canary"
                     " failed, canary removed · 5 approval denied or expired, canary removed · 6 validation failed,"
                     " rolled back · 7 validation failed, new version left running · 8 runbook's state cannot be"
                     " used.")


@app.command(epilog="\b\nExamples:\n  runbook deploy checkout-api --version 1.2.3 --environment production\n"
                    "  runbook deploy checkout-api --version 1.2.4 --auto-rollback\n"
                    "  runbook deploy checkout-api --version 1.2.3 -e staging --yes     # self-approval where allowed\n"
                    "  runbook deploy checkout-api --version 1.2.3 --dry-run\n"
                    "  runbook -o json deploy checkout-api --version 1.2.3 | jq -c 'select(.kind==\"deploy_finished\")'")
@with_global_options
def deploy(
    service: Annotated[str, typer.Argument(metavar="SERVICE", help="Service to deploy, as named in runbook.yaml.")],
    version: VersionValue = None,
    environment: EnvironmentOption = None,
    auto_rollback: Annotated[bool, typer.Option("--auto-rollback", help="Roll back automatically if post-deploy validation fails.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Run the pre-checks and config validation, print the plan, change nothing.")] = False,
    yes: YesOption = False,
    task_definition: Annotated[Optional[Path], typer.Option("--task-definition", metavar="PATH", help="Deploy this task definition (the JSON `aws ecs register-task-definition --cli-input-json` takes, as kept in your repository): step 2 shows what it changes; the version is its container's image tag.", dir_okay=False)] = None,  # noqa: UP045
) -> None:
    """Deploy a version safely: pre-checks, config, a canary on live metrics, approval, rollout, validation.

    The six steps run in order; any failure stops the deploy, removes the canary and changes nothing else (with --auto-rollback, a failed validation also rolls back). A deploy that waits for approval says for whom, until when, and how to end the wait.
    """
    with aws_calls_shown():
        code = commands.deploy(service, version, environment, auto_rollback, dry_run, current(), task_definition, yes=yes)
    raise typer.Exit(code)


deploy.__doc__ = f"{deploy.__doc__}\n    {EXIT_CODES_DEPLOY}\n"


@app.command(epilog="\b\nExamples:\n  runbook rollback checkout-api --environment production\n"
                    "  runbook rollback checkout-api --to 1.2.2 -e staging --yes")
@with_global_options
def rollback(
    service: Annotated[str, typer.Argument(metavar="SERVICE", help="Service to roll back.")],
    environment: EnvironmentOption = None,
    to: Annotated[Optional[str], typer.Option("--to", metavar="VERSION", help="Version to go back to (default: the one that ran before the deploy that put the running revision in place, from the deployment records).")] = None,  # noqa: UP045
    despite_alarms: Annotated[bool, typer.Option("--despite-alarms", help="Roll back although alarms were firing before the deploy being undone started (alarms raised since never stop a rollback).")] = False,
    yes: YesOption = False,
) -> None:
    """Go back to the version that ran before the current one, through the same gates as a deploy.

    Alarms that started firing after the deploy being undone started (the bad version's own) do not stop a rollback; alarms firing before it do, unless --despite-alarms.

    Exit codes: those of `runbook deploy`.
    """
    with aws_calls_shown():
        code = commands.rollback(service, environment, to, current(), yes=yes, despite_alarms=despite_alarms)
    raise typer.Exit(code)


@app.command(epilog="\b\nExamples:\n  runbook resume dep-3f2a9c\n  runbook resume dep-3f2a9c --abort")
@with_global_options
def resume(
    deployment_id: Annotated[str, typer.Argument(metavar="ID", help="Deployment id (or a unique prefix), as `runbook history` lists it.")],
    abort: Annotated[bool, typer.Option("--abort", help="Close the deploy instead: remove its canary, withdraw its approval request, release the lock, record it as abandoned; the stable version keeps running (put back, if the rollout had begun).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Take over a lock still held from another host, when you know that process is gone.")] = False,
    yes: YesOption = False,
) -> None:
    """Continue a deploy whose process died (kill -9, a reboot) from its last saved step.

    The deploy keeps its id, lock, canary and approval request: a step that was cut short runs again without starting a second canary or registering a second revision, and a deploy stopped at the approval waits for the decision again. Refused (exit 2, nothing changed) when the deployment is unknown, already finished, or still alive: its lock is within its TTL and held by a process still running on this host, or by another host (then --force takes over).

    Exit codes: those of `runbook deploy`; with --abort, 0 once the deploy is closed.
    """
    with aws_calls_shown():
        code = commands.resume(deployment_id, abort, force, current(), yes=yes)
    raise typer.Exit(code)


DECISION_CODES = ("Exit codes: 0 decided · 2 bad input · 12 no such deployment or request · 13 refused by the"
                  " environment's policy (not an approver, your own production deploy, already decided, expired,"
                  " or the deploy is gone) · 8 runbook's state cannot be used.")
ServiceFilter = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--service", "-s", metavar="SERVICE", help="Instead of an id: the pending request for this service."),
]
WaitOption = Annotated[
    float,
    typer.Option("--wait", metavar="SECONDS", min=0,
                 help="Wait up to this long for a matching request to appear (said on stderr; Ctrl-C ends it)."),
]


@app.command(epilog="\b\nExamples:\n  runbook approve dep-3f2a9c\n"
                    "  runbook approve --service checkout-api --environment production --wait 600")
@with_global_options
def approve(
    deployment_id: Annotated[Optional[str], typer.Argument(metavar="[ID]", help="Deployment id (or a unique prefix), as the deploy prints it.")] = None,  # noqa: UP045
    service: ServiceFilter = None,
    environment: EnvironmentOption = None,
    wait: WaitOption = 0.0,
) -> None:
    """Approve a pending deploy as yourself (as the environment's identity provider establishes you).

    Allowed only where the environment's policy accepts terminal decisions; in production the person who asked for the deploy cannot approve it.
    """
    raise typer.Exit(commands.decide("approved", deployment_id, service, environment, wait, "", current()))


approve.__doc__ = f"{approve.__doc__}\n    {DECISION_CODES}\n"


@app.command(epilog="\b\nExamples:\n  runbook deny dep-3f2a9c --reason 'p99 too high'\n"
                    "  runbook deny --service checkout-api -e production --reason 'freeze'")
@with_global_options
def deny(
    deployment_id: Annotated[Optional[str], typer.Argument(metavar="[ID]", help="Deployment id (or a unique prefix).")] = None,  # noqa: UP045
    reason: Annotated[str, typer.Option("--reason", "-r", metavar="TEXT", help="Why; shown to the requester and kept in the scratchpad.")] = "",
    service: ServiceFilter = None,
    environment: EnvironmentOption = None,
    wait: WaitOption = 0.0,
) -> None:
    """Deny a pending deploy: its canary is removed and nothing else changes."""
    raise typer.Exit(commands.decide("denied", deployment_id, service, environment, wait, reason, current()))


deny.__doc__ = f"{deny.__doc__}\n    {DECISION_CODES}\n"


@app.command(epilog="\b\nExamples:\n  runbook history\n  runbook history checkout-api -e production -n 5\n"
                    "  runbook -o json history | jq '.deployments[0].status'")
@with_global_options
def history(
    service: Annotated[Optional[str], typer.Argument(metavar="[SERVICE]", help="Only this service.")] = None,  # noqa: UP045
    environment: Annotated[Optional[str], typer.Option("--environment", "-e", metavar="ENV", help="Only this environment.")] = None,  # noqa: UP045
    limit: Annotated[int, typer.Option("--limit", "-n", metavar="N", min=1, help="How many deployments to list.")] = 20,
) -> None:
    """List recent deployments from the scratchpad, newest first."""
    raise typer.Exit(commands.history(service, environment, limit, current()))


@sandbox_app.command("reset", epilog="\b\nExamples:\n  runbook sandbox reset\n  runbook -o json sandbox reset")
@with_global_options
def sandbox_reset() -> None:
    """Re-seed the sandbox fleet (checkout-api at 1.2.2 with 10 healthy tasks, and friends)."""
    raise typer.Exit(commands.sandbox_reset(current()))


@sandbox_app.command("demo", epilog="\b\nExamples:\n  runbook sandbox demo\n  runbook sandbox demo --version 1.2.4 --auto-rollback\n"
                                    "  runbook -o json sandbox demo > events.jsonl")
@with_global_options
def sandbox_demo(
    version: Annotated[str, typer.Option("--version", metavar="VERSION", help="Version of checkout-api to deploy.")] = "1.2.3",
    colleague: Annotated[str, typer.Option("--colleague", metavar="NAME", help="Who approves, acting in a second process.")] = "alice",
    auto_rollback: Annotated[bool, typer.Option("--auto-rollback", help="Roll back automatically if validation fails.")] = False,
) -> None:
    """Re-seed the sandbox and run the headline deploy of checkout-api to production.

    No person is needed: a simulated colleague approves through the same gate a person uses, never by skipping it: a signed click on the Slack card (sent to the real bot, with a local stand-in of Slack's Web API) where production approves in Slack, else `runbook approve` from a second process.

    Exit codes: those of `runbook deploy`.
    """
    raise typer.Exit(commands.sandbox_demo(version, colleague, auto_rollback, current()))


for _module in (cli_agent, cli_slack, cli_knowledge, cli_mcp):
    _module.register(app)


_OLD_SHORT_OPTIONS = {"-v": "--version"}  # deploy and sandbox demo took `-v 1.2.3` before -v meant --verbose


def _old_spelling(argv: list[str]) -> str | None:
    """A one-sentence hint for `runbook deploy SERVICE -v 1.2.3`, which now reads as --verbose plus a stray word."""
    if not ({"deploy", "demo"} & set(argv)):
        return None
    for index, arg in enumerate(argv[:-1]):
        if arg in _OLD_SHORT_OPTIONS and argv[index + 1][:1].isdigit():
            return (f"-v now means --verbose; name the version with {_OLD_SHORT_OPTIONS[arg]} {argv[index + 1]}"
                    " (nothing ran).")
    return None


def main() -> None:
    from agent.signals import Stopped, stop_on_signals

    hint = _old_spelling(sys.argv[1:])
    if hint:
        print(f"Error: {hint}", file=sys.stderr)
        sys.exit(2)
    try:
        with stop_on_signals():
            app()
    except Stopped as stop:
        print(f"{stop.description}.", file=sys.stderr)
        sys.exit(stop.exit_code)
    except Exception as exc:  # a bug, not something the person did: one line, the traceback on request
        from tools.config_env import debug_enabled

        if debug_enabled():
            raise
        print(f"Error: runbook failed unexpectedly ({type(exc).__name__}: {str(exc)[:300]})."
              " This is a bug; RUNBOOK_DEBUG=1 shows the traceback.", file=sys.stderr)
        sys.exit(1)
