"""What each CLI command does: open the runtime, call a skill with it, render. Every user error ends in
one sentence on stderr and its class's exit code (`memory.errors.UserError`), mapped here only.

Imports of anything heavier than the standard library happen inside the functions, so that
`runbook --help` stays fast.
"""

from __future__ import annotations

import os
import select
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memory.errors import EXIT_BAD_INPUT, UserError

if TYPE_CHECKING:
    from agent.runtime import Runtime
    from memory.records import ApprovalRecord
    from memory.scratchpad import Scratchpad

OUTPUTS = ("auto", "rich", "plain", "json")


def fail(message: str, exit_code: int = EXIT_BAD_INPUT) -> int:
    print(f"Error: {message}", file=sys.stderr)
    return exit_code


def run(body: Callable[[], int]) -> int:
    """Run a command body; a UserError from any layer becomes one sentence and its exit code."""
    try:
        return int(body())
    except UserError as exc:
        return fail(str(exc), exc.exit_code)


def with_runtime(config_path: Path | None, body: Callable[[Runtime], int]) -> int:
    """Open the runtime for one command, run `body` with it, close it; user errors as in `run`."""
    from agent.runtime import open_runtime

    def opened() -> int:
        with open_runtime(config_path) as runtime:
            return body(runtime)

    return run(opened)


def validate_output(output: str) -> str:
    output = output.lower()
    if output not in OUTPUTS:
        raise UserError(f"--output must be one of rich, plain or json, not '{output}'.")
    return output


def sandbox_note(runtime: Runtime) -> str | None:
    """The line that says a command ran on the simulated fleet (None: a real backend)."""
    if not runtime.config.uses_sandbox:
        return None
    return f"Sandbox: a simulated fleet, not a real one ({runtime.describe()})."


def terminal_prompt(renderer: Any) -> Any:
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


def streamed(output: str, body: Callable[[Runtime, Any, Any], int]) -> Callable[[Runtime], int]:
    """A command that streams a deploy's events: `body(runtime, renderer, prompt)` gets a renderer for
    --output and, on a TTY, the terminal prompt."""
    def run_with(runtime: Runtime) -> int:
        from agent.render import choose_mode, make_renderer

        chosen = validate_output(output)
        mode = choose_mode(None if chosen == "auto" else chosen, sys.stdout)
        renderer = make_renderer(mode, sys.stdout)
        prompt = terminal_prompt(renderer) if sys.stdin.isatty() and mode != "json" else None
        try:
            return body(runtime, renderer, prompt)
        finally:
            renderer.close()

    return run_with


def deploy(service: str, version: str | None, environment: str | None, auto_rollback: bool, dry_run: bool,
           output: str, config_path: Path | None, task_definition: Path | None = None) -> int:
    def body(runtime: Runtime, renderer: Any, prompt: Any) -> int:
        from skills.deploy import DeployRequest, run_deploy
        from skills.deploy.definitions import load_definition

        env_name = runtime.config.environment(environment)[0]
        svc = runtime.config.service(service)
        definition, tag = load_definition(task_definition, service, svc, version) if task_definition else (None, version)
        if tag is None:
            raise UserError("Name the version to deploy (--version 1.2.3) or a task-definition file (--task-definition PATH).")
        me = runtime.identity(env_name)
        request = DeployRequest(service=service, version=tag, environment=env_name, requester=me.name,
                                requester_via=me.via, auto_rollback=auto_rollback, dry_run=dry_run,
                                task_definition=definition,
                                task_definition_file=str(task_definition) if task_definition else None)
        return run_deploy(runtime, request, renderer, terminal_prompt=prompt)

    return with_runtime(config_path, streamed(output, body))


def rollback(service: str, environment: str | None, to: str | None, output: str, config_path: Path | None,
             despite_alarms: bool = False) -> int:
    def body(runtime: Runtime, renderer: Any, prompt: Any) -> int:
        from skills.rollback import run_rollback

        return run_rollback(runtime, service, environment, renderer, to=to, terminal_prompt=prompt,
                            despite_alarms=despite_alarms)

    return with_runtime(config_path, streamed(output, body))


def resume(deployment_id: str, abort: bool, force: bool, output: str, config_path: Path | None) -> int:
    def body(runtime: Runtime, renderer: Any, prompt: Any) -> int:
        from skills.deploy import resume_deploy

        return resume_deploy(runtime, deployment_id, renderer, abort=abort, force=force,
                             terminal_prompt=None if abort else prompt)

    return with_runtime(config_path, streamed(output, body))


def decide(decision: str, deployment_id: str | None, service: str | None, environment: str | None,
           wait: float, reason: str, config_path: Path | None) -> int:
    def body(runtime: Runtime) -> int:
        from skills import approval as gate

        if bool(deployment_id) == bool(service):
            raise UserError("Name either a deployment id or --service (with --environment), not both or neither.")
        request = _find_request(runtime, deployment_id, service, environment, wait)
        _, env = runtime.config.environment(request.environment)
        record = gate.decide(runtime.store, request, decision, by=runtime.identity(request.environment),  # type: ignore[arg-type]
                             channel="terminal", now=runtime.wall.now(), policy=env.approval, reason=reason)
        verb = "Approved" if decision == "approved" else "Denied"
        print(f"{verb} {record.service} {record.from_version} → {record.to_version} in {record.environment}"
              f" (deployment {record.deployment_id}, image {record.image_digest[:19]}…) as {record.decided_by}.")
        return 0

    return with_runtime(config_path, body)


def _find_request(runtime: Runtime, deployment_id: str | None, service: str | None, environment: str | None,
                  wait: float) -> ApprovalRecord:
    store: Scratchpad = runtime.store
    deadline = time.monotonic() + max(wait, 0.0)
    env_name = runtime.config.environment(environment)[0] if service else None
    while True:
        if deployment_id:
            deployment = store.find_deployment(deployment_id)
            request = store.approval_for_deployment(deployment.id) if deployment else None
        else:  # the newest request of a deploy that still runs (a dead deploy's would be refused)
            from skills.approval import deploy_is_alive

            pending = store.pending_approvals(service, env_name)[::-1]
            live = [r for r in pending if deploy_is_alive(store, r, runtime.wall.now())]
            request = next(iter(live or pending), None)
        if request is not None:
            return request
        if time.monotonic() >= deadline:
            what = f"deployment '{deployment_id}'" if deployment_id else f"{service} in {env_name}"
            raise UserError(f"No approval request found for {what}.")
        time.sleep(0.2)


def history(service: str | None, environment: str | None, limit: int, output: str, config_path: Path | None) -> int:
    def body(runtime: Runtime) -> int:
        import json

        config = runtime.config
        if service:
            config.service(service)
        if environment:
            config.environment(environment)
        rows = runtime.store.list_deployments(service, environment, limit=limit)
        if validate_output(output) == "json":
            for row in rows:
                print(json.dumps(row.model_dump(mode="json") | {"backend": _backend_of(runtime, row.environment)}))
            return 0
        note = sandbox_note(runtime)
        if note:
            print(note)
        if not rows:
            print("No deployments recorded yet.")
            return 0
        print(f"{'ID':<15} {'STARTED (UTC)':<17} {'SERVICE':<22} {'ENV':<11} {'VERSION':<17} {'OUTCOME':<30} WHO")
        for row in rows:
            change = f"{row.from_version} → {row.to_version}" if row.from_version else row.to_version
            who = row.requester + (f" / {row.approver}" if row.approver else "")
            started = f"{row.started_at:%Y-%m-%d %H:%M}"
            print(f"{row.id:<15} {started:<17} {row.service:<22} {row.environment:<11}"
                  f" {change:<17} {row.status:<30} {who}")
        return 0

    return with_runtime(config_path, body)


def _backend_of(runtime: Runtime, environment: str) -> str | None:
    env = runtime.config.environments.get(environment)
    return env.backend if env else None


def sandbox_reset(config_path: Path | None) -> int:
    def body(runtime: Runtime) -> int:
        from memory.recall import ensure_indexed
        from tools.sandbox import reset_sandbox

        reset_sandbox(runtime.config, runtime.fleet_store())
        print(f"Sandbox reset: fleet re-seeded ({runtime.describe()}).")
        settings = runtime.recall_settings
        if not settings.enabled:
            return 0
        entries = ensure_indexed(state_dir=settings.state_dir, folder=settings.folder, embedding=settings.embedding,
                                 vocab_path=settings.vocab_path, server_url=settings.server_url)
        print(f"Knowledge: {entries} entries ready for recall (runbooks, postmortems, past deployments).")
        return 0

    return with_runtime(config_path, body)


def sandbox_demo(version: str, colleague: str, auto_rollback: bool, output: str, config_path: Path | None) -> int:
    """Reset the sandbox and deploy; a colleague approves: in Slack (the local stand-in and the real bot)
    when production approves in Slack, else with `runbook approve --wait` in a second process."""
    import subprocess

    def body(runtime: Runtime) -> int:
        requester = runtime.user
        approver = colleague if colleague != requester else f"{colleague}-2"
        runtime.close()  # the reset and the deploy below open their own
        if sandbox_reset(config_path) != 0:
            return 1
        if runtime.config.environment("production")[1].approval.slack:
            return _slack_demo(runtime, version, approver, auto_rollback, output, config_path)
        argv = [sys.executable, "-c", "from agent.cli import main; main()", "approve", "--service", "checkout-api",
                "--environment", "production", "--wait", "600"]
        if config_path:
            argv += ["--config", str(config_path)]
        runtime.state_dir.mkdir(parents=True, exist_ok=True)
        with open(runtime.state_dir / "colleague.log", "w") as log:
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

    return with_runtime(config_path, body)


def _slack_demo(runtime: Runtime, version: str, approver: str, auto_rollback: bool, output: str,
                config_path: Path | None) -> int:
    from agent.slack.demo import slack_sandbox

    with slack_sandbox(runtime.config, "production", runtime.user, approver) as slack:
        print(f"Slack: a local stand-in of the Web API ({slack.standin.base_url}) and the runbook bot"
              f" ({slack.bot_url}).\nA colleague ({approver}, {slack.colleague_id}) will click Approve on the card"
              f" in {slack.channel}, sent to the bot as a signed Slack request.\n")
        code = deploy("checkout-api", version, "production", auto_rollback, False, output, config_path)
        print(f"\nSlack Web API calls: {', '.join(slack.methods_called())}"
              f" · clicks answered with HTTP {', '.join(map(str, slack.clicks)) or '-'}")
    return code
