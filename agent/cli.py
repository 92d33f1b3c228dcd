"""`runbook`: the command line. Heavy libraries are imported inside the commands that use them."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from agent import cli_agent, cli_knowledge, cli_mcp, cli_slack, commands

app = typer.Typer(
    name="runbook",
    help=(
        "An SRE agent that deploys safely to AWS ECS and answers questions about production.\n\n"
        "With no runbook.yaml it works against a built-in sandbox fleet, so every command can be tried"
        " right away."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: formatting it with rich costs more than the rest of `--help`
    context_settings={"help_option_names": ["-h", "--help"]},
)
sandbox_app = typer.Typer(help="The built-in sandbox fleet used when no real backend is configured.",
                          no_args_is_help=True, rich_markup_mode=None)
app.add_typer(sandbox_app, name="sandbox")

ConfigOption = Annotated[
    Optional[Path],  # noqa: UP045 - typer needs Optional here
    typer.Option("--config", "-c", help="Path to runbook.yaml (default: ./runbook.yaml, else the built-in sandbox).",
                 dir_okay=False),
]
EnvironmentOption = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--environment", "-e", help="Target environment (default: the config's default_environment)."),
]
VerboseOption = Annotated[
    bool, typer.Option("--verbose", help="Also print how many AWS API calls and retries the command made (ECS environments).")
]


class _Stderr(logging.Handler):
    """Writes to whatever sys.stderr is when a record arrives (the CLI test runner swaps it per command)."""

    def emit(self, record: logging.LogRecord) -> None:
        print(self.format(record), file=sys.stderr)


@contextmanager
def aws_calls_shown(verbose: bool) -> Iterator[None]:
    """With --verbose, the INFO summary the AWS backend logs when it closes ("AWS: N API calls, M retries")."""
    if not verbose:
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


OutputOption = Annotated[
    str,
    typer.Option("--output", "-o", help="rich (terminal), plain (no colours or redraws) or json (one event per line).",
                 case_sensitive=False),
]


@app.command()
def deploy(
    service: Annotated[str, typer.Argument(help="Service to deploy, as named in runbook.yaml.")],
    version: Annotated[Optional[str], typer.Option("--version", "-v", help="Image tag to deploy, e.g. 1.2.3: a new revision of the running task definition with only the image changed.")] = None,  # noqa: UP045
    environment: EnvironmentOption = None,
    auto_rollback: Annotated[bool, typer.Option("--auto-rollback", help="Roll back automatically if post-deploy validation fails.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Run the pre-checks and config validation, print the plan, change nothing.")] = False,
    output: OutputOption = "auto",
    config: ConfigOption = None,
    verbose: VerboseOption = False,
    task_definition: Annotated[Optional[Path], typer.Option("--task-definition", help="Deploy this task definition (the JSON `aws ecs register-task-definition --cli-input-json` takes, as kept in your repository): step 2 shows what it changes; the version is its container's image tag.", dir_okay=False)] = None,  # noqa: UP045
) -> None:
    """Deploy a version safely: pre-checks, config, a canary on live metrics, approval, rollout, validation.

    The six steps run in order; any failure stops the deploy, removes the canary and changes nothing else (with --auto-rollback, a failed validation also rolls back).

    Exit codes: 0 success (or dry run) · 1 unexpected failure · 2 bad input · 3 pre-checks or config failed, nothing changed · 4 canary failed, canary removed · 5 approval denied or expired, canary removed · 6 validation failed, rolled back · 7 validation failed, new version left running.
    """
    with aws_calls_shown(verbose):
        code = commands.deploy(service, version, environment, auto_rollback, dry_run, output, config, task_definition)
    raise typer.Exit(code)


@app.command()
def rollback(
    service: Annotated[str, typer.Argument(help="Service to roll back.")],
    environment: EnvironmentOption = None,
    to: Annotated[Optional[str], typer.Option("--to", help="Version to go back to (default: the one that ran before the deploy that put the running revision in place, from the deployment records).")] = None,  # noqa: UP045
    despite_alarms: Annotated[bool, typer.Option("--despite-alarms", help="Roll back although alarms were firing before the deploy being undone started (alarms raised since never stop a rollback).")] = False,
    output: OutputOption = "auto",
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Go back to the version that ran before the current one, through the same gates as a deploy.

    Alarms that started firing after the deploy being undone started (the bad version's own) do not stop a rollback; alarms firing before it do, unless --despite-alarms.
    """
    with aws_calls_shown(verbose):
        code = commands.rollback(service, environment, to, output, config, despite_alarms)
    raise typer.Exit(code)


@app.command()
def resume(
    deployment_id: Annotated[str, typer.Argument(help="Deployment id (or a unique prefix), as `runbook history` lists it.")],
    abort: Annotated[bool, typer.Option("--abort", help="Close the deploy instead: remove its canary, withdraw its approval request, release the lock, record it as abandoned; the stable version keeps running (put back, if the rollout had begun).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Take over a lock still held from another host, when you know that process is gone.")] = False,
    output: OutputOption = "auto",
    config: ConfigOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Continue a deploy whose process died (kill -9, a reboot) from its last saved step.

    The deploy keeps its id, lock, canary and approval request: a step that was cut short runs again without starting a second canary or registering a second revision, and a deploy stopped at the approval waits for the decision again. Refused (exit 2, nothing changed) when the deployment is unknown, already finished, or still alive: its lock is within its TTL and held by a process still running on this host, or by another host (then --force takes over).

    Exit codes: those of `runbook deploy`; with --abort, 0 once the deploy is closed.
    """
    with aws_calls_shown(verbose):
        code = commands.resume(deployment_id, abort, force, output, config)
    raise typer.Exit(code)


@app.command()
def approve(
    deployment_id: Annotated[Optional[str], typer.Argument(help="Deployment id (or a unique prefix), as the deploy prints it.")] = None,  # noqa: UP045
    service: Annotated[Optional[str], typer.Option("--service", "-s", help="Instead of an id: the pending request for this service.")] = None,  # noqa: UP045
    environment: EnvironmentOption = None,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for a matching request to appear.")] = 0.0,
    config: ConfigOption = None,
) -> None:
    """Approve a pending deploy as yourself (RUNBOOK_USER, the config's user, or your login).

    Allowed only where the environment's policy accepts terminal decisions; in production the person who asked for the deploy cannot approve it.
    """
    raise typer.Exit(commands.decide("approved", deployment_id, service, environment, wait, "", config))


@app.command()
def deny(
    deployment_id: Annotated[Optional[str], typer.Argument(help="Deployment id (or a unique prefix).")] = None,  # noqa: UP045
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why; shown to the requester and kept in the scratchpad.")] = "",
    service: Annotated[Optional[str], typer.Option("--service", "-s", help="Instead of an id: the pending request for this service.")] = None,  # noqa: UP045
    environment: EnvironmentOption = None,
    wait: Annotated[float, typer.Option("--wait", help="Seconds to wait for a matching request to appear.")] = 0.0,
    config: ConfigOption = None,
) -> None:
    """Deny a pending deploy: its canary is removed and nothing else changes."""
    raise typer.Exit(commands.decide("denied", deployment_id, service, environment, wait, reason, config))


@app.command()
def history(
    service: Annotated[Optional[str], typer.Argument(help="Only this service.")] = None,  # noqa: UP045
    environment: Annotated[Optional[str], typer.Option("--environment", "-e", help="Only this environment.")] = None,  # noqa: UP045
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many deployments to list.")] = 20,
    output: OutputOption = "auto",
    config: ConfigOption = None,
) -> None:
    """List recent deployments from the scratchpad, newest first."""
    raise typer.Exit(commands.history(service, environment, limit, output, config))


@sandbox_app.command("reset")
def sandbox_reset(config: ConfigOption = None) -> None:
    """Re-seed the sandbox fleet (checkout-api at 1.2.2 with 10 healthy tasks, and friends)."""
    raise typer.Exit(commands.sandbox_reset(config))


@sandbox_app.command("demo")
def sandbox_demo(
    version: Annotated[str, typer.Option("--version", "-v", help="Version of checkout-api to deploy.")] = "1.2.3",
    colleague: Annotated[str, typer.Option("--colleague", help="Who approves, acting in a second process.")] = "alice",
    auto_rollback: Annotated[bool, typer.Option("--auto-rollback", help="Roll back automatically if validation fails.")] = False,
    output: OutputOption = "auto",
    config: ConfigOption = None,
) -> None:
    """Re-seed the sandbox and run the headline deploy of checkout-api to production.

    No person is needed: a simulated colleague approves through the same gate a person uses, never by skipping it: a signed click on the Slack card (sent to the real bot, with a local stand-in of Slack's Web API) where production approves in Slack, else `runbook approve` from a second process.
    """
    raise typer.Exit(commands.sandbox_demo(version, colleague, auto_rollback, output, config))


for _module in (cli_agent, cli_slack, cli_knowledge, cli_mcp):
    _module.register(app)


def main() -> None:
    from agent.signals import Stopped, stop_on_signals

    try:
        with stop_on_signals():
            app()
    except Stopped as stop:
        print(f"{stop.description}.", file=sys.stderr)
        sys.exit(stop.exit_code)
    except Exception as exc:  # a bug, not something the person did: one line, the traceback on request
        if os.environ.get("RUNBOOK_DEBUG"):
            raise
        print(f"Error: runbook failed unexpectedly ({type(exc).__name__}: {str(exc)[:300]})."
              " This is a bug; RUNBOOK_DEBUG=1 shows the traceback.", file=sys.stderr)
        sys.exit(1)
