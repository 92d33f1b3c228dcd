"""The rich terminal view: the seed's content with colour, panels, trees, sparklines and live displays."""

from __future__ import annotations

from typing import TextIO

from rich import box
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.text import Text
from rich.tree import Tree

from agent.render.boxes import banner
from agent.render.content import (
    ACCENT,
    BAD,
    BOLD,
    DIM,
    OK,
    SPARK,
    WARN,
    Line,
    RolloutTracker,
    approval_body,
    channel_line,
    decision_line,
    diff_rows,
    finish_sections,
    header_lines,
    headline_style,
    health_line,
    marked,
    slack_preview,
    verdict_lines,
)
from agent.render.format import cell_width, fmt_clock, version_label
from agent.render.metrics import canary_brief, metrics_progress, metrics_title, reading_block
from agent.render.rich_live import LiveSlot, metrics_status
from skills.events import (
    ApprovalDecided,
    ApprovalRequested,
    CanaryJudged,
    CanaryVerdictChanged,
    CheckFailed,
    CheckPassed,
    DeployFinished,
    DeployStarted,
    Event,
    HealthCheckResult,
    MetricReading,
    MetricsObserved,
    RollbackFinished,
    RollbackStarted,
    RolloutProgress,
    StepFinished,
    StepStarted,
    TaskDefinitionDiff,
)
from skills.events import (
    Progress as ProgressEvent,
)

STYLES = {
    OK: "green", BAD: "bold red", WARN: "yellow", DIM: "dim", BOLD: "bold", ACCENT: "cyan", SPARK: "cyan",
}


def styled(line: Line) -> Text:
    return Text.assemble(*[(text, STYLES.get(style, "")) for text, style in line])


def _verdict_style(readings: list[MetricReading]) -> str:
    if any(r.ok is False for r in readings):
        return "red"
    return "green" if all(r.ok for r in readings) else "yellow"


class RichRenderer:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.errors = 0  # events that could not be drawn (drawing never raises into a deployment)
        self._live = LiveSlot(console)
        self._blank_last = True
        self._auto_rollback = False
        self._health_open = False
        self._observed: float | None = None
        self._canary_readings: list[MetricReading] = []
        self._canary_verdict: str | None = None
        self._rollout: RolloutTracker | None = None
        self._waiting = ""
        self._last_alert = ""

    @classmethod
    def for_stream(cls, stream: TextIO) -> RichRenderer:
        return cls(Console(file=stream, highlight=False, markup=False, emoji=False))

    def __call__(self, event: Event) -> None:
        kind = getattr(event, "kind", None)
        handler = getattr(self, f"_on_{kind}", None) if isinstance(kind, str) else None
        if handler is None:
            return
        try:
            if kind != "health_check" and self._health_open:
                self._health_open = False
                self._blank()
            handler(event)
        except Exception:  # a display problem must never stop a deployment
            self.errors += 1
            self._live.stop()
            try:
                self._print(Text(f"(could not display a {kind} event)", style="dim"))
            except Exception:
                pass

    def close(self) -> None:
        self._live.stop()

    @property
    def _line_width(self) -> int:
        return self.console.width - 3  # the spinner and its space

    @property
    def live(self) -> bool:
        return self._live.active

    # --- drawing -----------------------------------------------------------------------------

    def _print(self, *renderables: RenderableType, blank: bool = False) -> None:
        for renderable in renderables:
            self.console.print(renderable)
        self._blank_last = blank

    def _blank(self) -> None:
        if not self._blank_last:
            self._print(Text(""), blank=True)

    def _tree(self, label: str, rows: list[Line]) -> RenderableType:
        tree = Tree(Text(label, style="bold"), guide_style="dim")
        for row in rows:
            tree.add(styled(row))
        return Padding(tree, (0, 0, 0, 2), expand=False)

    # --- events ------------------------------------------------------------------------------

    def _on_deploy_started(self, event: DeployStarted) -> None:
        self._auto_rollback = event.auto_rollback
        title = Text("\n".join(header_lines(event)), justify="center", style="bold")
        self._print(Panel(title, box=box.DOUBLE, border_style="cyan", width=min(62, self.console.width)))
        self._blank()

    def _on_step_started(self, event: StepStarted) -> None:
        self._live.stop()
        self._rollout = None
        self._blank()
        title = f"Step {event.number}/{event.total}: {event.title}"
        self._print(Text(title, style="bold cyan"), Text("─" * cell_width(title), style="cyan"))

    def _on_progress(self, event: ProgressEvent) -> None:
        self._print(Text.assemble(("→ ", "cyan"), event.message))

    def _check(self, sign: str, style: str, message: str, details: list[str]) -> None:
        self._print(Text.assemble((sign + " ", style), (message, "red" if sign == "✗" else "")))
        self._print(*[Text("  " + detail, style="dim") for detail in details])
        self._blank()

    def _on_check_passed(self, event: CheckPassed) -> None:
        self._check("✓", "green", event.message, event.details)

    def _on_check_failed(self, event: CheckFailed) -> None:
        self._check("✗", "bold red", event.message, event.details)

    def _on_task_definition_diff(self, event: TaskDefinitionDiff) -> None:
        self._blank()
        self._print(self._tree("Task Definition Changes:", diff_rows(event)))
        self._blank()

    def _on_health_check(self, event: HealthCheckResult) -> None:
        self._print(Text("  ") + styled(health_line(event)))
        self._health_open = True

    def _on_metrics_observed(self, event: MetricsObserved) -> None:
        if event.phase == "approval_wait":
            self._approval_wait(event)
        elif event.final:
            self._live.stop("metrics")
            if event.phase == "canary":
                self._canary_readings = list(event.readings)
                self._observed = event.window_seconds or event.elapsed_seconds
            body: list[RenderableType] = []
            for reading in event.readings:
                body += [Text("")] + [styled(line) for line in reading_block(reading, event.phase,
                                                                             event.window_seconds)]
            panel = Panel(Group(*body, Text("")), title=Text(metrics_title(event.phase), style="bold"),
                          title_align="left", box=box.ROUNDED, expand=False, padding=(0, 2),
                          border_style=_verdict_style(event.readings))
            self._blank()
            self._print(Padding(panel, (0, 0, 0, 2), expand=False))
            self._blank()
        else:
            line = metrics_status(f"Observing {event.phase} metrics ", event, self._line_width)
            self._live.status("metrics", line)

    def _approval_wait(self, event: MetricsObserved) -> None:
        line = metrics_status(f"{self._waiting} · canary:", event, self._line_width, False)
        self._live.update_status("approval", line)
        if any(reading.ok is False for reading in event.readings):
            alert = metrics_progress(event).partition(": ")[2]
            if alert != self._last_alert:
                self._last_alert = alert
                self._print(Text(f"✗ Canary degraded while waiting for approval: {alert}", style="bold red"))

    def _on_canary_judged(self, event: CanaryJudged) -> None:
        self._canary_verdict = event.verdict
        self._observed = event.observed_seconds or self._observed
        if event.verdict == "healthy":
            return
        lines = verdict_lines(event.verdict, event.observed_seconds, event.canary_requests, event.more, event.reasons)
        self._print(*[styled(line) for line in lines])

    def _on_canary_verdict_changed(self, event: CanaryVerdictChanged) -> None:
        self._canary_verdict = event.verdict
        lines = verdict_lines(event.verdict, event.observed_seconds, event.canary_requests, event.more, event.reasons)
        lines[0] = lines[0] + [(", while waiting for approval", DIM)]
        self._print(*[styled(line) for line in lines])

    def _on_approval_requested(self, event: ApprovalRequested) -> None:
        self._live.stop()
        self._blank()
        body = Group(*[styled(line) for line in approval_body(event, self._observed)])
        self._print(Panel(body, title=Text("APPROVAL REQUIRED", style="bold yellow"), box=box.DOUBLE,
                          border_style="yellow", expand=False, padding=(0, 2)))
        self._blank()
        for channel in event.channels:
            self._print(Text(channel_line(event, channel), style="cyan"))
            if channel == "slack" or channel.startswith("slack:"):
                canary = canary_brief(self._canary_verdict, self._canary_readings) if self._canary_readings \
                    else None
                preview = slack_preview(event, canary)
                self._print(Panel(Text("\n".join(preview[1:])), title=preview[0], title_align="left",
                                  box=box.ROUNDED, expand=False, border_style="dim"))
        self._print(*[Text("  " + line, style="dim") for line in event.how_to_decide])
        self._blank()
        self._waiting = f"Waiting for approval (expires {fmt_clock(event.expires_at)})"
        self._live.status("approval", Text(self._waiting + "...", style="bold"))

    def _on_approval_decided(self, event: ApprovalDecided) -> None:
        self._live.stop()
        self._print(styled(decision_line(event)))
        self._blank()

    def _on_rollout_progress(self, event: RolloutProgress) -> None:
        if self._rollout is None:
            self._rollout = RolloutTracker()
        self._rollout.add(event)
        self._live.rollout(event)
        if event.state != "IN_PROGRESS":
            self._blank()
            self._print(self._tree("Rolling Update:", self._rollout.summary(event)))
            self._blank()
            self._rollout = None

    def _on_step_finished(self, event: StepFinished) -> None:
        self._live.stop()
        self._blank()
        sign = ("✓", "green") if event.ok else ("✗", "bold red")
        self._print(Text.assemble((event.message + " ", "bold"), sign))
        self._blank()

    def _on_rollback_started(self, event: RollbackStarted) -> None:
        self._live.stop()
        self._blank()
        head = "Initiating automatic rollback..." if self._auto_rollback else "Initiating rollback..."
        self._print(Text(head, style="bold yellow"))
        if event.reason:
            self._print(Text(f"  Reason: {event.reason}", style="dim"))
        self._print(Text.assemble(("→ ", "cyan"), f"Rolling back to {version_label(event.to_version)}..."))

    def _on_rollback_finished(self, event: RollbackFinished) -> None:
        self._live.stop()
        if event.ok:
            self._print(Text("✓ Rollback complete", style="green"), Text(""))
            versions = f"{event.from_version} → {event.to_version}"
            self._print(Text(f"Version: {versions} (rolled back)", style="bold"))
        else:
            self._print(Text(f"✗ {event.message or 'Rollback failed'}", style="bold red"))
        self._blank()

    def _on_deploy_finished(self, event: DeployFinished) -> None:
        self._live.stop()
        self._blank()
        style = STYLES.get(headline_style(event), "")
        rule, headline, _ = banner(event.headline)
        self._print(Text(rule, style=style), Text(headline, style="bold " + style), Text(rule, style=style))
        for title, items in finish_sections(event):
            self._blank()
            self._print(Text(title, style="bold"))
            for item in items:
                self._print(Text("  ") + styled(marked(item)) if not item.startswith("runbook ") else
                            Text("  " + item, style="cyan"))
        if event.logged:
            self._blank()
            self._print(Text("Deployment logged to scratchpad.", style="dim"))
