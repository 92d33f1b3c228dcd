"""The request tools' bodies: a deploy or rollback asked for in chat runs the same deploy skill, with the
asker as requester, and waits for a person's approval like any other.

Its typed events go to the door's sink as they happen (the terminal draws them as `runbook deploy`
does: the deployment id and how to approve come first), and the result says how the change ended and
*why*: "refused: 1.2.2 already runs in production", "expired: nobody decided before 10:42 UTC" —
never an exit code alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.toolkit import Toolbox, ToolResult
from skills.resources import Resources
from tools.config import RunbookConfig


def how_to_approve(config: RunbookConfig, environment: str, deployment_id: str, requester: str) -> str:
    """Where a person decides this deployment, from the environment's policy (said before the deploy runs)."""
    policy = config.environment(environment)[1].approval
    if not policy.required:
        return f"{environment} needs no approval."
    ways = []
    if policy.slack:
        ways.append(f"the Approve button of the card in {config.slack.channel_for(environment)}")
    if policy.terminal:
        who = "" if policy.allow_self_approval else f" (as someone other than {requester})"
        ways.append(f"`runbook approve {deployment_id}`{who} from another shell")
    return "A person approves it: " + ", or ".join(ways) + "."


class DeployWatcher:
    """Forwards a deploy's events to the door's sink and keeps what the tool result needs."""

    def __init__(self, sink: Callable[[Any], None]) -> None:
        self.sink = sink
        self.deployment_id = ""
        self.approval: dict[str, Any] | None = None
        self.decision: dict[str, Any] | None = None
        self.failed_checks: list[str] = []
        self.finished: dict[str, Any] | None = None

    def __call__(self, event: Any) -> None:
        kind = getattr(event, "kind", "")
        self.deployment_id = getattr(event, "deployment_id", "") or self.deployment_id
        if kind == "approval_requested":
            self.approval = {"request_id": event.request_id, "expires_at": event.expires_at.isoformat(),
                             "channels": list(event.channels), "how_to_decide": list(event.how_to_decide)}
        elif kind == "approval_decided":
            self.decision = {"decision": event.decision, "by": event.by, "reason": event.reason}
        elif kind == "check_failed":
            self.failed_checks.append(event.message)
        elif kind == "deploy_finished":
            self.finished = {"outcome": str(event.outcome), "headline": event.headline,
                             "observations": list(event.observations), "next_steps": list(event.next_steps),
                             "rollback_command": event.rollback_command}
        self.sink(event)

    def reason(self, detail: str, meaning: str) -> str:
        """Why the deploy ended as it did, in one line."""
        decision = self.decision or {}
        if decision.get("decision") == "denied":
            by = f" by {decision['by']}" if decision.get("by") else ""
            return f"denied{by}" + (f": {decision['reason']}" if decision.get("reason") else "")
        if decision.get("decision") == "expired":
            until = (self.approval or {}).get("expires_at", "")
            return f"nobody decided before the approval request expired{f' ({until})' if until else ''}"
        return detail or (self.failed_checks[0] if self.failed_checks else meaning)


def deploy(box: Toolbox, service: str, version: str, environment: str | None) -> ToolResult:
    from skills.deploy import DeployRequest, run_deploy

    env = box.config.environment(environment)[0]
    box.config.service(service)
    me = box.resources.identity(env)  # who asks, as the environment's identity provider establishes it
    request = DeployRequest(service=service, version=version, environment=env, requester=me.name,
                            requester_via=me.via)
    what = f"Deploy of {service} {version} to {env} ({request.deployment_id}, requested by {me.name})"

    def run(resources: Resources, sink: Callable[[Any], None]) -> ToolResult:
        watcher = DeployWatcher(sink)
        code = run_deploy(resources, request, watcher)
        return _result(resources, "request_deploy", what, request.deployment_id, code, watcher)

    return _start(box, "request_deploy", what, request.deployment_id, env, me.name, run)


def rollback(box: Toolbox, service: str, environment: str | None, to_version: str | None) -> ToolResult:
    from skills.rollback import rollback_target, run_rollback

    env, target = rollback_target(box.resources, service, environment, to_version)
    what = f"Rollback of {service} in {env} to {target} (requested by {box.asker})"

    def run(resources: Resources, sink: Callable[[Any], None]) -> ToolResult:
        watcher = DeployWatcher(sink)
        code = run_rollback(resources, service, env, watcher, to=target)
        return _result(resources, "request_rollback", f"{what[:-1]}, {watcher.deployment_id or 'no deployment'})",
                       watcher.deployment_id, code, watcher)

    return _start(box, "request_rollback", what, None, env, box.asker, run)


def _start(box: Toolbox, tool: str, what: str, deployment_id: str | None, environment: str, requester: str,
           run: Callable[[Resources, Callable[[Any], None]], ToolResult]) -> ToolResult:
    """Run the change here to its end, or (a door that cannot wait) start it on its own runtime and say
    at once which deployment it is and how to approve it; the door reports the outcome when it ends."""
    if box.spawn is None:
        return run(box.resources, box.on_event)
    box.spawn(lambda resources: run(resources, lambda event: None))
    approve = how_to_approve(box.config, environment, deployment_id or "ID", requester)
    text = f"{what}: started. {approve} The outcome follows here when it ends."
    return ToolResult(tool=tool, ok=True, text=text, status="started",
                      data={"deployment_id": deployment_id, "status": "started", "how_to_approve": approve})


def _result(resources: Resources, tool: str, what: str, deployment_id: str, code: int,
            watcher: DeployWatcher) -> ToolResult:
    from memory.outcome import Outcome

    record = resources.store.get_deployment(deployment_id) if deployment_id else None
    if record is not None and record.status.finished:
        outcome = record.status
    else:
        outcome = next((o for o in Outcome if o.exit_code == code and o.finished), Outcome.FAILED)
    reason = watcher.reason(record.detail if record else "", outcome.meaning)
    finished = watcher.finished or {}
    data = {"deployment_id": deployment_id, "outcome": outcome.value, "exit_code": outcome.exit_code,
            "reason": reason, "meaning": outcome.meaning, "headline": finished.get("headline", outcome.headline),
            "observations": finished.get("observations", []), "next_steps": finished.get("next_steps", []),
            "rollback_command": finished.get("rollback_command"), "approval": watcher.approval}
    lines = [f"{what}: {outcome.value} — {reason.rstrip('.')}."]
    if finished.get("rollback_command"):
        lines.append(f"To roll back: {finished['rollback_command']}")
    lines += [f"Next: {step}" for step in finished.get("next_steps", [])]
    return ToolResult(tool=tool, ok=outcome.ok, text="\n".join(lines), data=data, outcome=outcome.value,
                      exit_code=outcome.exit_code, reason=reason, status="ok" if outcome.ok else "error")
