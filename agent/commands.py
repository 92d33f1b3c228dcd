"""What each CLI command does: open the runtime, call a skill with it, render. Every user error ends in
one sentence on stderr (and, with --output json, in the document) and an exit code mapped here only.

Imports of anything heavier than the standard library happen inside the functions, so that
`runbook --help` stays fast.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent import cli_output as out
from agent.cli_options import GlobalOptions
from memory.errors import EXIT_BAD_INPUT, UserError

if TYPE_CHECKING:
    from agent.runtime import Runtime
    from memory.records import ApprovalRecord
    from memory.scratchpad import Scratchpad

# Exit codes of the commands that are not deploys (a deploy's are memory.outcome's): distinct from those,
# so that `runbook ask`, which ends as the skill it ran would, is never ambiguous.
EXIT_UNHEALTHY = 10  # status: a service is not healthy (tasks down or missing, an alarm firing)
EXIT_UNREACHABLE = 11  # status: a backend could not be read (AWS unreachable, no credentials)
EXIT_NOT_FOUND = 12  # approve/deny: no such deployment or approval request
EXIT_REFUSED = 13  # approve/deny: the gate refused the decision (policy, already decided, expired, deploy gone)


class NotFound(UserError):
    """Nothing matches what the person named (a deployment, an approval request)."""

    exit_code = EXIT_NOT_FOUND


def exit_code_of(exc: UserError) -> int:
    """The one mapping of user errors to exit codes: the error's own, except the gate's refusals."""
    approval = sys.modules.get("skills.approval")  # not loaded: the error cannot be the gate's
    if approval is not None and isinstance(exc, approval.ApprovalError):
        return EXIT_REFUSED
    return exc.exit_code


def fail(message: str, exit_code: int = EXIT_BAD_INPUT, command: str = "") -> int:
    print(f"Error: {message}", file=sys.stderr)
    if command:
        out.error(command, message, exit_code)
    return exit_code


def run(body: Callable[[], int], command: str = "") -> int:
    """Run a command body; a UserError from any layer becomes one sentence and its exit code."""
    try:
        return int(body())
    except UserError as exc:
        return fail(str(exc), exit_code_of(exc), command)


def with_runtime(opts: GlobalOptions | Path | None, body: Callable[[Runtime], int], command: str = "") -> int:
    """Open the runtime for one command (the config, the environment and the flags), run `body` with it,
    close it; user errors as in `run`. Notes about replaced settings go to stderr first."""
    from agent.runtime import open_runtime

    if not isinstance(opts, GlobalOptions):  # an older caller's config path
        opts = GlobalOptions(config=opts)

    def opened() -> int:
        with open_runtime(opts.config, flags=opts.flags) as runtime:
            for line in runtime.config.notes:
                out.note(f"Note: {line}")
            return body(runtime)

    return run(opened, command)


def sandbox_note(runtime: Runtime) -> str | None:
    """The line that says a command ran on the simulated fleet (None: a real backend)."""
    if not runtime.config.uses_sandbox:
        return None
    return f"Sandbox: a simulated fleet, not a real one ({runtime.describe()})."


# -- streaming commands: deploy, rollback, resume ---------------------------------------------------------


def streamed(opts: GlobalOptions, command: str, body: Callable[[Runtime, Any, Any], int],
             yes: bool = False, environment: Callable[[Runtime], str] | None = None) -> Callable[[Runtime], int]:
    """A command that streams a deploy's events: `body(runtime, renderer, prompt)` gets the renderer of
    --output, and the prompt: --yes's (checked against the policy first), else the terminal's on a TTY."""
    def run_with(runtime: Runtime) -> int:
        from agent.cli_prompts import announce_waits, approve_with_yes, terminal_prompt
        from agent.render import choose_mode, make_renderer

        prompt = None
        if yes:
            env_name = environment(runtime) if environment else runtime.config.environment(None)[0]
            prompt = approve_with_yes(runtime, env_name)
        if opts.json:
            renderer: Any = out.json_events()
        else:
            mode = choose_mode(None if opts.output == "auto" else opts.output, sys.stdout)
            renderer = make_renderer(mode, sys.stdout)
            if opts.quiet:
                renderer = out.Quiet(renderer)
            if prompt is None and sys.stdin.isatty():
                prompt = terminal_prompt(renderer)
        renderer = announce_waits(runtime, renderer, by_yes=yes)
        try:
            return body(runtime, renderer, prompt)
        finally:
            renderer.close()

    return run_with


def deploy(service: str, version: str | None, environment: str | None, auto_rollback: bool, dry_run: bool,
           opts: GlobalOptions, task_definition: Path | None = None, yes: bool = False) -> int:
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

    def env_of(runtime: Runtime) -> str:
        runtime.config.service(service)
        return runtime.config.environment(environment)[0]

    return with_runtime(opts, streamed(opts, "deploy", body, yes=yes and not dry_run, environment=env_of), "deploy")


def rollback(service: str, environment: str | None, to: str | None, opts: GlobalOptions, yes: bool = False,
             despite_alarms: bool = False) -> int:
    def body(runtime: Runtime, renderer: Any, prompt: Any) -> int:
        from skills.rollback import run_rollback

        return run_rollback(runtime, service, environment, renderer, to=to, terminal_prompt=prompt,
                            despite_alarms=despite_alarms)

    return with_runtime(opts, streamed(opts, "rollback", body, yes=yes,
                                       environment=lambda r: r.config.environment(environment)[0]), "rollback")


def resume(deployment_id: str, abort: bool, force: bool, opts: GlobalOptions, yes: bool = False) -> int:
    def body(runtime: Runtime, renderer: Any, prompt: Any) -> int:
        from skills.deploy import resume_deploy

        return resume_deploy(runtime, deployment_id, renderer, abort=abort, force=force,
                             terminal_prompt=None if abort else prompt)

    def env_of(runtime: Runtime) -> str:
        found = runtime.store.find_deployment(deployment_id)
        if found is None:
            raise NotFound(f"No deployment '{deployment_id}' in the scratchpad (runbook history lists them).")
        return found.environment

    return with_runtime(opts, streamed(opts, "resume", body, yes=yes and not abort, environment=env_of), "resume")


# -- approve / deny ---------------------------------------------------------------------------------------


def decide(decision: str, deployment_id: str | None, service: str | None, environment: str | None,
           wait: float, reason: str, opts: GlobalOptions | Path | None) -> int:
    command = "approve" if decision == "approved" else "deny"

    def body(runtime: Runtime) -> int:
        from skills import approval as gate

        if bool(deployment_id) == bool(service):
            raise UserError("Name either a deployment id or --service (with --environment), not both or neither.")
        request = _find_request(runtime, deployment_id, service, environment, wait)
        _, env = runtime.config.environment(request.environment)
        record = gate.decide(runtime.store, request, decision, by=runtime.identity(request.environment),  # type: ignore[arg-type]
                             channel="terminal", now=runtime.wall.now(), policy=env.approval, reason=reason)
        verb = "Approved" if decision == "approved" else "Denied"
        out.say(f"{verb} {record.service} {record.from_version} → {record.to_version} in {record.environment}"
                f" (deployment {record.deployment_id}, image {record.image_digest[:19]}…) as {record.decided_by}.")
        out.document(command, {"decision": decision, "approval": record.model_dump(mode="json")})
        return 0

    return with_runtime(opts, body, command)


def _find_request(runtime: Runtime, deployment_id: str | None, service: str | None, environment: str | None,
                  wait: float) -> ApprovalRecord:
    store: Scratchpad = runtime.store
    deadline = time.monotonic() + max(wait, 0.0)
    env_name = runtime.config.environment(environment)[0] if service else None
    what = f"deployment '{deployment_id}'" if deployment_id else f"{service} in {env_name}"
    announced = False
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
            raise NotFound(f"No approval request found for {what}.")
        if not announced:
            out.waiting(f"Waiting up to {wait:g} s for an approval request for {what} (Ctrl-C stops waiting;"
                        " nothing is decided until one appears).")
            announced = True
        time.sleep(0.2)


# -- documents: history, sandbox reset ----------------------------------------------------------------------


def history(service: str | None, environment: str | None, limit: int, opts: GlobalOptions | Path | None) -> int:
    def body(runtime: Runtime) -> int:
        config = runtime.config
        if service:
            config.service(service)
        if environment:
            config.environment(environment)
        rows = runtime.store.list_deployments(service, environment, limit=limit)
        out.document("history", {"sandbox": config.uses_sandbox, "config": config.label, "deployments": [
            row.model_dump(mode="json") | {"backend": _backend_of(runtime, row.environment)} for row in rows]})
        if out.current().json:
            return 0
        note = sandbox_note(runtime)
        if note:
            out.note(note)
        if not rows:
            out.say("No deployments recorded yet.")
            return 0
        out.say(f"{'ID':<15} {'STARTED (UTC)':<17} {'SERVICE':<22} {'ENV':<11} {'VERSION':<17} {'OUTCOME':<30} WHO")
        for row in rows:
            change = f"{row.from_version} → {row.to_version}" if row.from_version else row.to_version
            who = row.requester + (f" / {row.approver}" if row.approver else "")
            started = f"{row.started_at:%Y-%m-%d %H:%M}"
            out.say(f"{row.id:<15} {started:<17} {row.service:<22} {row.environment:<11}"
                    f" {change:<17} {row.status:<30} {who}")
        return 0

    return with_runtime(opts, body, "history")


def _backend_of(runtime: Runtime, environment: str) -> str | None:
    env = runtime.config.environments.get(environment)
    return env.backend if env else None


def _reset(runtime: Runtime) -> dict[str, Any]:
    from memory.recall import ensure_indexed
    from tools.sandbox import reset_sandbox

    tell = out.note if out.current().json else out.say  # JSON: the document (or the demo's events) says it
    reset_sandbox(runtime.config, runtime.fleet_store())
    result: dict[str, Any] = {"fleet": "re-seeded", "backend": runtime.describe(), "knowledge_entries": None}
    tell(f"Sandbox reset: fleet re-seeded ({runtime.describe()}).")
    settings = runtime.recall_settings
    if settings.enabled:
        entries = ensure_indexed(state_dir=settings.state_dir, folder=settings.folder, embedding=settings.embedding,
                                 vocab_path=settings.vocab_path, server_url=settings.server_url)
        result["knowledge_entries"] = entries
        tell(f"Knowledge: {entries} entries ready for recall (runbooks, postmortems, past deployments).")
    return result


def sandbox_reset(opts: GlobalOptions | Path | None) -> int:
    def body(runtime: Runtime) -> int:
        out.document("sandbox reset", _reset(runtime))
        return 0

    return with_runtime(opts, body, "sandbox reset")


# -- sandbox demo -------------------------------------------------------------------------------------------


def sandbox_demo(version: str, colleague: str, auto_rollback: bool, opts: GlobalOptions) -> int:
    """Reset the sandbox and deploy; a colleague approves: in Slack (the local stand-in and the real bot)
    when production approves in Slack, else with `runbook approve --wait` in a second process. Only the
    deploy's events go to stdout (JSON lines with --output json); the rest is said on stderr."""
    import subprocess

    def body(runtime: Runtime) -> int:
        requester = runtime.user
        approver = colleague if colleague != requester else f"{colleague}-2"
        _reset(runtime)
        runtime.close()  # the deploy below opens its own
        if runtime.config.environment("production")[1].approval.slack:
            return _slack_demo(runtime, version, approver, auto_rollback, opts)
        argv = [sys.executable, "-c", "from agent.cli import main; main()", "approve", "--service", "checkout-api",
                "--environment", "production", "--wait", "600"]
        if opts.config:
            argv += ["--config", str(opts.config)]
        runtime.state_dir.mkdir(parents=True, exist_ok=True)
        with open(runtime.state_dir / "colleague.log", "w") as log:
            colleague_process = subprocess.Popen(
                argv, env=os.environ | {"RUNBOOK_USER": approver}, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL)
        out.note(f"A colleague ({approver}) is standing by in another process to approve"
                 f" (runbook approve, as RUNBOOK_USER={approver}).\n")
        try:
            code = deploy("checkout-api", version, "production", auto_rollback, False, opts)
        finally:
            if colleague_process.poll() is None:
                colleague_process.terminate()
            colleague_process.wait(timeout=10)
        return code

    return with_runtime(opts, body, "sandbox demo")


def _slack_demo(runtime: Runtime, version: str, approver: str, auto_rollback: bool, opts: GlobalOptions) -> int:
    from agent.slack.demo import slack_sandbox

    with slack_sandbox(runtime.config, "production", runtime.user, approver) as slack:
        out.note(f"Slack: a local stand-in of the Web API ({slack.standin.base_url}) and the runbook bot"
                 f" ({slack.bot_url}).\nA colleague ({approver}, {slack.colleague_id}) will click Approve on the card"
                 f" in {slack.channel}, sent to the bot as a signed Slack request.\n")
        code = deploy("checkout-api", version, "production", auto_rollback, False, opts)
        out.note(f"\nSlack Web API calls: {', '.join(slack.methods_called())}"
                 f" · clicks answered with HTTP {', '.join(map(str, slack.clicks)) or '-'}")
    return code
