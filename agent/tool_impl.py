"""The bodies of the agent's tools: thin calls into skills and read-only tool functions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent.tools import (
    AlarmsArgs,
    DeployRequestArgs,
    HistoryArgs,
    InvestigateArgs,
    LogsArgs,
    MetricsArgs,
    RecallArgs,
    RollbackRequestArgs,
    StatusArgs,
    Toolbox,
    ToolResult,
    minutes,
)
from memory.outcome import Outcome
from skills.approval import ApprovalError
from skills.deploy.context import DeployInputError
from skills.rollback import NoRollbackTarget
from tools.backend import BackendError, target_for
from tools.config import ConfigError

USER_ERRORS = (ConfigError, BackendError, NoRollbackTarget, DeployInputError, ApprovalError)


def _investigate(box: Toolbox, args: InvestigateArgs) -> ToolResult:
    from agent.tool_recall import take_lookup
    from skills.investigate import investigate

    target = target_for(box.config, args.service, args.environment)
    findings = investigate(box.resources.backend(target.environment), box.resources.store, target,
                           args.window_minutes, args.offset_minutes, question=f"asked by {box.asker}",
                           recall=lambda: take_lookup(box), recall_wait=box.resources.recall_settings.wait_seconds)
    return ToolResult(tool="investigate", ok=True, text=findings.answer, data=findings.model_dump(mode="json"))


def _status(box: Toolbox, args: StatusArgs) -> ToolResult:
    from skills.status import render_reports, service_status

    reports = service_status(box.resources, args.service, args.environment)
    return ToolResult(tool="service_status", ok=True, text=render_reports(reports),
                      data=[r.model_dump(mode="json") for r in reports])


def _history(box: Toolbox, args: HistoryArgs) -> ToolResult:
    if args.service:
        box.config.service(args.service)
    env = box.config.environment(args.environment)[0] if args.environment else None
    rows = box.resources.store.list_deployments(args.service, env, limit=args.limit)
    if not rows:
        return ToolResult(tool="deployment_history", ok=True, text="No deployments recorded yet.", data=[])
    lines = [f"{r.started_at:%Y-%m-%d %H:%M} UTC {r.id} {r.kind} {r.service} ({r.environment})"
             f" {r.from_version or '?'} → {r.to_version}: {r.status}, by {r.requester}"
             + (f", approved by {r.approver}" if r.approver else "") for r in rows]
    return ToolResult(tool="deployment_history", ok=True, text="\n".join(lines),
                      data=[r.model_dump(mode="json") for r in rows])


def _metrics(box: Toolbox, args: MetricsArgs) -> ToolResult:
    target = target_for(box.config, args.service, args.environment)
    backend = box.resources.backend(target.environment)
    end = backend.clock.now()
    window = backend.metrics.observe(target, None, end - minutes(args.window_minutes), end, 60)
    rate = window.error_rate_percent
    p99 = window.p99_ms
    data = {"service": args.service, "environment": target.environment, "start": window.start.isoformat(),
            "end": window.end.isoformat(), "requests": window.requests, "errors": window.errors,
            "error_rate_percent": rate, "p99_ms": p99, "requests_per_minute": window.requests_per_minute}
    text = (f"{args.service} ({target.environment}), last {args.window_minutes} min: {window.requests:,} requests,"
            f" {window.errors:,} errors ({'n/a' if rate is None else f'{rate:.2f}%'}),"
            f" p99 {'n/a' if p99 is None else f'{p99:,.0f} ms'}. Source: metrics.")
    return ToolResult(tool="get_metrics", ok=True, text=text, data=data)


def _logs(box: Toolbox, args: LogsArgs) -> ToolResult:
    target = target_for(box.config, args.service, args.environment)
    backend = box.resources.backend(target.environment)
    end = backend.clock.now()
    events = backend.logs.error_events(target, end - minutes(args.window_minutes), end, args.pattern, args.limit)
    lines = [f"{e.timestamp:%H:%M:%S} {e.version or ''} {e.message}" for e in events[: args.limit]]
    text = f"{len(events)} error log events for {args.service} ({target.environment}):\n" + "\n".join(lines[:20])
    return ToolResult(tool="get_error_logs", ok=True, text=text,
                      data={"untrusted_log_lines": [e.model_dump(mode="json") for e in events]})


def _alarms(box: Toolbox, args: AlarmsArgs) -> ToolResult:
    target = target_for(box.config, args.service, args.environment)
    alarms = box.resources.backend(target.environment).incidents.active_alarms(target)
    text = (f"No alarms in ALARM for {args.service} ({target.environment})." if not alarms else
            "\n".join(f"{a.name}: {a.reason}" for a in alarms))
    return ToolResult(tool="get_alarms", ok=True, text=text, data=[a.model_dump(mode="json") for a in alarms])


def _recall(box: Toolbox, args: RecallArgs) -> ToolResult:
    from agent.tool_recall import run_recall

    return run_recall(box, args)


def _outcome(tool: str, what: str, code: int) -> ToolResult:
    outcome = next((o for o in Outcome if o.exit_code == code and o.finished), Outcome.FAILED)
    return ToolResult(tool=tool, ok=code == 0, text=f"{what} ended with exit code {code} ({outcome}: {outcome.meaning}).",
                      data={"exit_code": code, "outcome": outcome.value, "meaning": outcome.meaning})


def _deploy(box: Toolbox, args: DeployRequestArgs) -> ToolResult:
    from skills.deploy import DeployRequest, run_deploy

    env = box.config.environment(args.environment)[0]
    box.config.service(args.service)
    me = box.resources.identity(env)
    request = DeployRequest(service=args.service, version=args.version, environment=env, requester=me.name,
                            requester_via=me.via)
    code = run_deploy(box.resources, request, box.on_event)
    return _outcome("request_deploy", f"Deploy of {args.service} {args.version} to {env} ({request.deployment_id},"
                    f" requested by {box.asker}, gated by a person's approval)", code)


def _rollback(box: Toolbox, args: RollbackRequestArgs) -> ToolResult:
    from skills.rollback import run_rollback

    code = run_rollback(box.resources, args.service, args.environment, box.on_event, to=args.to_version)
    return _outcome("request_rollback", f"Rollback of {args.service} (requested by {box.asker},"
                    " through the deploy gates)", code)


IMPLEMENTATIONS: dict[str, Callable[[Toolbox, Any], ToolResult]] = {
    "investigate": _investigate,
    "service_status": _status,
    "deployment_history": _history,
    "get_metrics": _metrics,
    "get_error_logs": _logs,
    "get_alarms": _alarms,
    "recall": _recall,
    "request_deploy": _deploy,
    "request_rollback": _rollback,
}
