"""The answer an SRE would write from an investigation's findings: true counts, each signature split by
version and marked new or seen before the last deploy, the metrics against the window before, alarms,
the deploys that line up, the runbook section quoted, one concrete next step with its command, and the
evidence it all rests on. Fixed rules; the model never decides the next step."""

from __future__ import annotations

from datetime import timedelta

from skills import investigate_recall as past
from skills.investigate_errors import ErrorSignature, by_version_text
from skills.investigate_models import DeploymentLineUp, Findings, NextStep

_STILL_RUNNING = ("succeeded", "validation_failed", "running")


def _minutes(delta: timedelta) -> str:
    return f"{round(delta.total_seconds() / 60)} min"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}%"


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} ms"


def rising(f: Findings) -> bool:
    now, before = f.current.error_rate_percent or 0.0, f.previous.error_rate_percent or 0.0
    return now > max(2 * before, before + 1.0)


def _culprit(f: Findings) -> DeploymentLineUp | None:
    """The deploy the errors rose after, if its version still runs (a rollback would undo it)."""
    for dep in reversed(f.deployments):
        if dep.errors_rose_at and dep.kind == "deploy" and dep.status in _STILL_RUNNING and dep.from_version:
            return dep
    return None


def next_steps(f: Findings) -> list[NextStep]:
    """One concrete next step (with the command), by fixed rules."""
    culprit = _culprit(f)
    env = f" --environment {f.environment}"
    if culprit is not None:
        new = [g for g in f.errors if g.new and culprit.to_version in g.by_version]
        why = (f"errors rose after {culprit.to_version} went out ({culprit.deployment_id})"
               + (f" and {len(new)} signature(s) appeared with it" if new else ""))
        return [NextStep(text=f"Roll back to {culprit.from_version}: {why}. The rollback runs the deploy's gates"
                              " and waits for a person's approval.",
                         command=f"runbook rollback {f.service}{env} --to {culprit.from_version}")]
    book = f.recall.runbook if f.recall is not None else None
    if book is not None and (f.alarms or rising(f)):
        return [NextStep(text=f"Follow the runbook: {book.cite}.", command=None)]
    if f.alarms:
        alarm = f.alarms[0]
        return [NextStep(text=f"Look at what {alarm.name} watches ({alarm.description or alarm.reason}); no deploy of"
                              f" {f.service} lines up with it.",
                         command=f'runbook ask "what changed for {f.service} in the last day?"')]
    if rising(f):
        return [NextStep(text="The error rate rose with no deploy to blame: look at the top signature's logs.",
                         command=f'runbook ask "show the logs of {f.service}{" in " + f.environment}"')]
    return [NextStep(text="Nothing to do: errors are at their usual level.", command=None)]


def _count_line(f: Findings) -> str:
    window = f"{f.window_start:%H:%M}–{f.window_end:%H:%M} UTC"
    count = f"{f.error_count:,}" if f.errors_complete else f"at least {f.error_count:,} ({f.errors_note})"
    line = f"{f.service} in {f.environment}, {window}: {count} error log events"
    if not f.errors:
        return line + "."
    line += f" in {len(f.errors)} signature(s)"
    if f.grouped < f.error_count:
        line += f" (signatures counted from the newest {f.grouped:,})"
    split = {v: n for v, n in f.by_version.items() if v != "?"}
    if len(split) > 1:
        line += "; by version: " + ", ".join(f"{v} {n:,}" for v, n in sorted(split.items(), key=lambda kv: -kv[1]))
    return line + "."


def _signature_line(g: ErrorSignature, f: Findings) -> str:
    parts = [f"  • {g.count:,}× \"{g.signature}\" (first {g.first_seen:%H:%M:%S}, last {g.last_seen:%H:%M:%S})"]
    split = by_version_text(g) if len([v for v in f.by_version if v != "?"]) > 1 else ""
    if split:
        parts.append(split)
    if g.new is True and f.baseline is not None:
        parts.append(f"NEW: not in {f.baseline.label}")
    elif g.new is False:
        parts.append(f"seen before too ({g.before:,}× in {f.baseline.label if f.baseline else 'the baseline'})")
    return " — ".join(parts)


def summarize(f: Findings) -> str:
    lines = [_count_line(f)]
    lines += [_signature_line(group, f) for group in f.errors[:3]]
    lines.append(f"Error rate {_pct(f.current.error_rate_percent)} (before: {_pct(f.previous.error_rate_percent)}),"
                 f" p99 {_ms(f.current.p99_ms)} (before: {_ms(f.previous.p99_ms)}),"
                 f" {f.current.requests_per_minute or 0:,.0f} req/min (before:"
                 f" {f.previous.requests_per_minute or 0:,.0f}).")
    if f.alarms:
        lines.append("Alarms: " + "; ".join(f"{a.name} ({a.reason})" for a in f.alarms))
    else:
        lines.append("No alarms in ALARM.")
    for dep in f.deployments:
        lines.append(f"Deployment {dep.deployment_id} {dep.from_version or '?'} → {dep.to_version}"
                     f" ({dep.status}): {dep.note}.")
    lines += past.answer_lines(f.recall)
    for step in f.next_steps:
        lines.append(f"Next step: {step.text}" + (f"\n  {step.command}" if step.command else ""))
    lines.append("Evidence: " + "; ".join(f.evidence) + ".")
    return "\n".join(lines)


def evidence(f: Findings) -> list[str]:
    counted = f"{f.error_count:,}" if f.errors_complete else f"at least {f.error_count:,}"
    items = [f"logs: {counted} error events in {f.service} ({f.environment})",
             f"metrics: error rate, p99 and request rate, this window vs the {_minutes(f.window_end - f.window_start)} before",
             f"alarms: {len(f.alarms)} in ALARM"]
    if f.baseline is not None:
        items.append(f"baseline: {f.baseline.total:,} error events in {f.baseline.label}")
    items += [f"scratchpad: deployment {d.deployment_id} ({d.from_version or '?'} → {d.to_version}, {d.status})"
              for d in f.deployments]
    return items + past.evidence(f.recall)
