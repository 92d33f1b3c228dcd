"""What each event says, as lines of (text, style) segments; plain and rich only differ in drawing.

Styles are semantic names ("ok", "bad", ...) that the rich view maps to colours and plain ignores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agent.render.format import (
    fmt_clock,
    fmt_duration,
    version_label,
    window_label,
)
from memory.outcome import Outcome
from skills.events import (
    ApprovalDecided,
    ApprovalRequested,
    DeployFinished,
    DeployStarted,
    HealthCheckResult,
    MoreEvidence,
    RolloutProgress,
    TaskDefinitionDiff,
    more_sentences,
    span_of,
)

Seg = tuple[str, str]
Line = list[Seg]

OK, BAD, WARN, DIM, BOLD, ACCENT, SPARK = "ok", "bad", "warn", "dim", "bold", "accent", "spark"


def text_of(line: Line) -> str:
    return "".join(text for text, _ in line)


def mark(ok: bool | None) -> Seg:
    if ok is None:
        return ("?", WARN)
    return ("✓", OK) if ok else ("✗", BAD)


def marked(text: str) -> Line:
    """A bullet that may end in ✓ or ✗, with the mark coloured."""
    for sign, style in (("✓", OK), ("✗", BAD)):
        if text.endswith(sign):
            return [(text[: -len(sign)], ""), (sign, style)]
    return [(text, "")]


def header_lines(event: DeployStarted) -> list[str]:
    title = f"Deploying {event.service} {version_label(event.version)}"
    lines = [title + (" (dry run)" if event.dry_run else ""), f"Environment: {event.environment}"]
    if event.backend == "sandbox":
        config = "built-in config" if event.config.startswith("built-in") or not event.config else event.config
        lines.append(f"Sandbox: simulated fleet · {config}")
    return lines


def diff_rows(event: TaskDefinitionDiff) -> list[Line]:
    rows: list[Line] = []
    for change in event.changes:
        if change.before == change.after == "":
            rows.append([(f"{change.field}: ", ""), ("No changes", DIM)])
        elif change.changed:
            rows.append([(f"{change.field}: ", ""), (change.before or "(none)", DIM), (" → ", DIM),
                         (change.after or "(none)", ACCENT)])
        else:
            rows.append([(f"{change.field}: {change.after} ", ""), ("(unchanged)", DIM)])
    return rows


def tree_prefix(index: int, count: int) -> str:
    return "└─ " if index == count - 1 else "├─ "


def health_line(event: HealthCheckResult) -> Line:
    line: Line = [(f"Check {event.index}/{event.total}: ", "")]
    if event.healthy:
        return line + [("✓ Healthy", OK)]
    return line + [("✗ Unhealthy", BAD)] + ([(f" ({event.detail})", DIM)] if event.detail else [])


# --- approval --------------------------------------------------------------------------------

def approval_body(event: ApprovalRequested, observed_seconds: float | None) -> list[Line]:
    risk = event.risk.upper()
    risk_style = BAD if risk in ("HIGH", "CRITICAL") else WARN if risk == "MEDIUM" else OK
    lines: list[Line] = [
        [],
        [("Operation: ", ""), (event.operation, BOLD)],
        [("Risk Level: ", ""), (risk, risk_style)],
        [("Environment: ", ""), (event.environment, "")],
    ]
    if event.canary_summary:
        head = f"Canary Results ({window_label(observed_seconds)} observation):" if observed_seconds else \
            "Canary Results:"
        lines += [[], [(head, BOLD)]] + [[("  • ", DIM)] + marked(item) for item in event.canary_summary]
    if event.changes:
        lines += [[], [("Changes:", BOLD)]] + [[("  • ", DIM)] + marked(item) for item in event.changes]
    if event.rollback_command:
        lines += [[], [("Rollback Command:", BOLD)], [("  " + event.rollback_command, ACCENT)]]
    return lines + [[]]


def channel_line(event: ApprovalRequested, channel: str) -> str:
    if channel == "slack" or channel.startswith("slack:"):
        where = channel.partition(":")[2]
        return f"Sent to Slack {where}..." if where else "Sent to Slack..."
    if channel == "terminal":
        return (f"Approval requested in the terminal (request {event.request_id},"
                f" expires {fmt_clock(event.expires_at)}).")
    return f"Approval requested via {channel}."


def slack_preview(event: ApprovalRequested, canary: str | None) -> list[str]:
    versions = f"{event.from_version} → {event.to_version}" if event.from_version else event.to_version
    lines = ["🚀 Deployment Approval Request", "", f"Service: {event.service}", f"Version: {versions}",
             f"Environment: {event.environment}", ""]
    if canary:
        lines += [f"Canary: {canary}", ""]
    if event.canary_verdict == "inconclusive":
        return lines + ["[✅ Approve anyway (override)]  [❌ Deny]"]
    return lines + ["[✅ Approve]  [❌ Deny]"]


def verdict_lines(verdict: str, observed_seconds: float, canary_requests: int | None,
                  more: list[MoreEvidence], reasons: list[str]) -> list[Line]:
    """Under the canary box: the verdict, and for an inconclusive one how much more each side needs."""
    if verdict == "unhealthy":
        return [[("✗ " + reason, BAD)] for reason in reasons or ["Canary unhealthy"]]
    if reasons:  # no data
        return [[("? " + reason, WARN)] for reason in reasons]
    count = f" ({canary_requests:,} canary requests)" if canary_requests is not None else ""
    sign, style = ("✓", OK) if verdict == "healthy" else ("?", WARN)
    lines: list[Line] = [[(f"{sign} Verdict: {verdict} after {span_of(observed_seconds)}{count}", style)]]
    return lines + [[("  " + sentence, DIM)] for sentence in more_sentences(more)]


def decision_line(event: ApprovalDecided) -> Line:
    moment = event.decided_at or event.at
    when = f" at {fmt_clock(moment)}" if moment is not None else ""
    who = ""
    if event.by:
        who = f" by {event.by if event.by.startswith('@') else '@' + event.by}"
    reason = f": {event.reason}" if event.reason else ""
    if event.decision == "approved":
        override = [(" (override: the canary was inconclusive)", WARN)] if event.override else []
        return [(f"✓ Approved{who}{when}", OK)] + override
    if event.decision == "denied":
        return [(f"✗ Denied{who}{when}", BAD), (reason, "")]
    if event.decision == "expired":
        return [(f"✗ Approval expired{when}", BAD), (reason, "")]
    return [("✗ Approval aborted", BAD), (reason, "")]


# --- rollout ---------------------------------------------------------------------------------

def _compact(values: list[int], most: int = 7) -> list[int]:
    kept: list[int] = []
    for value in values:
        if not kept or kept[-1] != value:
            kept.append(value)
    if len(kept) <= most:
        return kept
    return [kept[round(i * (len(kept) - 1) / (most - 1))] for i in range(most)]


@dataclass
class RolloutTracker:
    """The counts a rollout went through, for the "Rolling Update" summary tree."""

    seen: list[tuple[int, int]] = field(default_factory=list)

    def add(self, event: RolloutProgress) -> bool:
        counts = (event.old_running, event.new_running)
        changed = not self.seen or self.seen[-1] != counts
        if changed:
            self.seen.append(counts)
        return changed

    def summary(self, event: RolloutProgress) -> list[Line]:
        olds = " → ".join(str(v) for v in _compact([old for old, _ in self.seen]))
        news = " → ".join(str(v) for v in _compact([new for _, new in self.seen]))
        last: Line = [(f"Duration: {fmt_duration(event.elapsed_seconds)}", "")]
        if event.state == "FAILED":
            last = [(f"Failed after {fmt_duration(event.elapsed_seconds)}", BAD),
                    (f" ({event.new_running}/{event.desired} new tasks running)", DIM)]
        return [[("Old tasks: ", ""), (olds, DIM)], [("New tasks: ", ""), (news, ACCENT)], last]


# --- summary ---------------------------------------------------------------------------------

def headline_style(event: DeployFinished) -> str:
    if event.outcome is Outcome.SUCCEEDED:
        return OK
    return ACCENT if event.outcome is Outcome.DRY_RUN else BAD


def finish_sections(event: DeployFinished) -> list[tuple[str, list[str]]]:
    versions = f"{event.from_version} → {event.to_version}" if event.from_version else event.to_version
    summary = [f"Service: {event.service}", f"Version: {versions}", f"Environment: {event.environment}"]
    if event.duration_seconds > 0:
        summary.append(f"Duration: {fmt_duration(event.duration_seconds)}")
    if event.tasks is not None:
        summary.append(f"Tasks: {event.tasks}")
    sections = [("Summary:", summary)]
    if event.observations:
        titles = {"succeeded": "Improvements Observed:", "dry_run": "Plan:"}
        title = titles.get(event.outcome, "Observations:")
        sections.append((title, [f"• {item}" for item in event.observations]))
    if event.rollback_command:
        title = "Rollback Command (if needed):" if event.outcome is Outcome.SUCCEEDED else "Rollback Command:"
        sections.append((title, [event.rollback_command]))
    if event.next_steps:
        title = "Next steps:" if event.outcome.ok or event.outcome in (Outcome.DENIED, Outcome.EXPIRED) else "Please investigate:"
        sections.append((title, list(event.next_steps)))
    return sections
