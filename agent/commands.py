"""What each CLI command does. Every user error ends in one sentence on stderr and an exit code.

Imports of anything heavier than the standard library happen inside the functions, so that
`runbook --help` stays fast.
"""

from __future__ import annotations

import os
import select
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from memory.scratchpad import Scratchpad
    from tools.config import RunbookConfig

EXIT_BAD_INPUT = 2


class UserError(Exception):
    """An error the user can fix; printed as one sentence."""

    def __init__(self, message: str, exit_code: int = EXIT_BAD_INPUT) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _fail(message: str, exit_code: int = EXIT_BAD_INPUT) -> int:
    print(f"Error: {message}", file=sys.stderr)
    return exit_code


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn the errors a user can cause into UserError, whichever layer raised them."""
    from skills.approval import ApprovalError
    from skills.deploy.context import DeployInputError
    from tools.backend import BackendError
    from tools.config import ConfigError

    try:
        yield
    except (ConfigError, DeployInputError, ApprovalError) as exc:
        raise UserError(str(exc)) from None
    except BackendError as exc:
        raise UserError(str(exc), exit_code=1) from None


def _run(body: Any) -> int:
    try:
        with _user_errors():
            return int(body())
    except UserError as exc:
        return _fail(str(exc), exc.exit_code)


def _load(config_path: Path | None) -> RunbookConfig:
    from tools.config import load_config

    return load_config(config_path)


def _validate_output(output: str) -> str:
    output = output.lower()
    if output not in ("auto", "rich", "plain", "json"):
        raise UserError(f"--output must be one of rich, plain or json, not '{output}'.")
    return output


def _terminal_prompt(renderer: Any) -> Any:
    """A prompt for the approval wait: asks once on the TTY, then checks for an answer without
    blocking the wait loop (which keeps watching the canary and the shared store meanwhile)."""
    asked = False

    def prompt(question: str, wait_seconds: float) -> str | None:
        nonlocal asked
        if not asked:
            renderer.close()  # a live spinner would draw over the question
            print(question, end="", flush=True, file=sys.stderr)
            asked = True
        ready, _, _ = select.select([sys.stdin], [], [], wait_seconds)
        if not ready:
            return None
        answer = sys.stdin.readline().strip().lower()
        return "approved" if answer in ("y", "yes") else "denied"

    return prompt


def deploy(service: str, version: str, environment: str | None, auto_rollback: bool, dry_run: bool,
           output: str, config_path: Path | None, kind: str = "deploy") -> int:
    def body() -> int:
        from agent.render import choose_mode, make_renderer
        from skills.deploy import DeployRequest, run_deploy

        mode = choose_mode(None if _validate_output(output) == "auto" else output, sys.stdout)
        config = _load(config_path)
        env_name = config.environment(environment)[0]
        config.service(service)
        request = DeployRequest(service=service, version=version, environment=env_name,
                                requester=config.current_user(), auto_rollback=auto_rollback, dry_run=dry_run,
                                kind=kind)
        renderer = make_renderer(mode, sys.stdout)
        prompt = _terminal_prompt(renderer) if sys.stdin.isatty() and mode != "json" else None
        try:
            return run_deploy(config, request, renderer, config.state_path(), terminal_prompt=prompt)
        finally:
            renderer.close()

    return _run(body)


def rollback(service: str, environment: str | None, to: str | None, output: str, config_path: Path | None) -> int:
    def body() -> int:
        from skills.rollback import NoRollbackTarget, rollback_target

        config = _load(config_path)
        try:
            env_name, target = rollback_target(config, config.state_path(), service, environment, to)
        except NoRollbackTarget as exc:
            raise UserError(str(exc)) from None
        return deploy(service, target, env_name, False, False, output, config_path, kind="rollback")

    return _run(body)


def _store(config: RunbookConfig) -> Scratchpad:
    from memory.scratchpad import Scratchpad

    return Scratchpad.in_dir(config.state_path())


def decide(decision: str, deployment_id: str | None, service: str | None, environment: str | None,
           wait: float, reason: str, config_path: Path | None) -> int:
    def body() -> int:
        from skills import approval as gate
        from tools.backend import open_backend

        config = _load(config_path)
        if bool(deployment_id) == bool(service):
            raise UserError("Name either a deployment id or --service (with --environment), not both or neither.")
        store = _store(config)
        try:
            request = _find_request(store, config, deployment_id, service, environment, wait)
            _, env = config.environment(request.environment)
            backend = open_backend(config, request.environment, config.state_path())
            try:
                now = backend.clock.now()
            finally:
                backend.close()
            record = gate.decide(store, request, decision, by=config.current_user(),  # type: ignore[arg-type]
                                 channel="terminal", now=now, policy=env.approval, reason=reason)
        finally:
            store.close()
        verb = "Approved" if decision == "approved" else "Denied"
        print(f"{verb} {record.service} {record.from_version} → {record.to_version} in {record.environment}"
              f" (deployment {record.deployment_id}, image {record.image_digest[:19]}…) as {record.decided_by}.")
        return 0

    return _run(body)


def _find_request(store: Scratchpad, config: RunbookConfig, deployment_id: str | None, service: str | None,
                  environment: str | None, wait: float):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + max(wait, 0.0)
    env_name = config.environment(environment)[0] if service else None
    while True:
        if deployment_id:
            deployment = store.find_deployment(deployment_id)
            request = store.approval_for_deployment(deployment.id) if deployment else None
        else:
            pending = store.pending_approvals(service, env_name)
            request = pending[0] if pending else None
        if request is not None:
            return request
        if time.monotonic() >= deadline:
            what = f"deployment '{deployment_id}'" if deployment_id else f"{service} in {env_name}"
            raise UserError(f"No approval request found for {what}.")
        time.sleep(0.2)


def history(service: str | None, environment: str | None, limit: int, output: str, config_path: Path | None) -> int:
    def body() -> int:
        import json

        config = _load(config_path)
        if service:
            config.service(service)
        if environment:
            config.environment(environment)
        store = _store(config)
        try:
            rows = store.list_deployments(service, environment, limit=limit)
        finally:
            store.close()
        if _validate_output(output) == "json":
            for row in rows:
                print(json.dumps(row.model_dump(mode="json")))
            return 0
        if not rows:
            print("No deployments recorded yet.")
            return 0
        print(f"{'ID':<15} {'STARTED (UTC)':<17} {'SERVICE':<22} {'ENV':<11} {'VERSION':<17} {'OUTCOME':<30} WHO")
        for row in rows:
            change = f"{row.from_version or '?'} → {row.to_version}"
            who = row.requester + (f" / {row.approver}" if row.approver else "")
            print(f"{row.id:<15} {row.started_at:%Y-%m-%d %H:%M} {row.service:<22} {row.environment:<11}"
                  f" {change:<17} {row.status:<30} {who}")
        return 0

    return _run(body)


def sandbox_reset(config_path: Path | None) -> int:
    def body() -> int:
        from tools.sandbox import reset_sandbox

        config = _load(config_path)
        from memory.recall import ensure_indexed

        reset_sandbox(config, config.state_path())
        print(f"Sandbox reset: fleet re-seeded under {os.path.relpath(config.state_path())}.")
        knowledge = config.knowledge
        entries = ensure_indexed(state_dir=config.state_path(), folder=knowledge.folder,
                                 embedding=knowledge.embedding, vocab_path=knowledge.vocab_path)
        print(f"Knowledge: {entries} entries ready for recall (runbooks, postmortems, past deployments).")
        return 0

    return _run(body)


def sandbox_demo(version: str, colleague: str, auto_rollback: bool, output: str, config_path: Path | None) -> int:
    """Reset the sandbox and deploy; a colleague approves: in Slack (the local stand-in and the real bot)
    when production approves in Slack, else with `runbook approve --wait` in a second process."""
    import subprocess

    def body() -> int:
        config = _load(config_path)
        requester = config.current_user()
        approver = colleague if colleague != requester else f"{colleague}-2"
        if sandbox_reset(config_path) != 0:
            return 1
        if config.environment("production")[1].approval.slack:
            return _slack_demo(config, version, requester, approver, auto_rollback, output, config_path)
        argv = [sys.executable, "-c", "from agent.cli import main; main()", "approve", "--service", "checkout-api",
                "--environment", "production", "--wait", "600"]
        if config_path:
            argv += ["--config", str(config_path)]
        log_path = config.state_path() / "colleague.log"
        with open(log_path, "w") as log:
            colleague_process = subprocess.Popen(
                argv, env=os.environ | {"RUNBOOK_USER": approver}, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)
        print(f"A colleague ({approver}) is standing by in another process to approve"
              f" (runbook approve, as RUNBOOK_USER={approver}).\n")
        try:
            code = deploy("checkout-api", version, "production", auto_rollback, False, output, config_path)
        finally:
            if colleague_process.poll() is None:
                colleague_process.terminate()
            colleague_process.wait(timeout=10)
        return code

    return _run(body)


def _slack_demo(config: RunbookConfig, version: str, requester: str, approver: str, auto_rollback: bool,
                output: str, config_path: Path | None) -> int:
    from agent.slack.demo import slack_sandbox

    with slack_sandbox(config, "production", requester, approver) as slack:
        print(f"Slack: a local stand-in of the Web API ({slack.standin.base_url}) and the runbook bot"
              f" ({slack.bot_url}).\nA colleague ({approver}, {slack.colleague_id}) will click Approve on the card"
              f" in {slack.channel}, sent to the bot as a signed Slack request.\n")
        code = deploy("checkout-api", version, "production", auto_rollback, False, output, config_path)
        print(f"\nSlack Web API calls: {', '.join(slack.methods_called())}"
              f" · clicks answered with HTTP {', '.join(map(str, slack.clicks)) or '-'}")
    return code
