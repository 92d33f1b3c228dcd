"""Plain text: the seed's layout, no colour, every line written once (safe for pipes and logs)."""

from __future__ import annotations

from typing import TextIO

from agent.render.boxes import banner, double_box, single_box
from agent.render.content import (
    RolloutTracker,
    approval_body,
    channel_line,
    decision_line,
    diff_rows,
    finish_sections,
    header_lines,
    health_line,
    slack_preview,
    text_of,
    tree_prefix,
    verdict_lines,
)
from agent.render.format import cell_width, fmt_duration, version_label
from agent.render.metrics import canary_brief, metrics_progress, metrics_title, reading_block
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
    Progress,
    RollbackFinished,
    RollbackStarted,
    RolloutProgress,
    StepFinished,
    StepStarted,
    TaskDefinitionDiff,
)

# Intermediate metrics print at most this many times per observation window.
_METRIC_UPDATES = 4


class PlainRenderer:
    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._blank_last = True  # nothing written yet: no leading blank line
        self._auto_rollback = False
        self._health_open = False
        self._observed: float | None = None
        self._canary_readings: list[MetricReading] = []
        self._canary_verdict: str | None = None
        self._buckets: dict[str, int] = {}
        self._rollout: RolloutTracker | None = None
        self._rollout_mark = -1
        self._last_alert = ""

    def __call__(self, event: Event) -> None:
        kind = getattr(event, "kind", None)
        handler = getattr(self, f"_on_{kind}", None) if isinstance(kind, str) else None
        if handler is None:
            return
        if kind != "health_check" and self._health_open:
            self._health_open = False
            self._blank()
        try:
            handler(event)
        except Exception:  # a display problem must never stop a deployment
            self._line(f"(could not display a {kind} event)")

    def close(self) -> None:
        try:
            self._stream.flush()
        except (OSError, ValueError):
            pass

    # --- writing -----------------------------------------------------------------------------

    def _line(self, text: str = "") -> None:
        self._stream.write(text.rstrip() + "\n")
        self._stream.flush()
        self._blank_last = not text.strip()

    def _lines(self, lines: list[str], indent: str = "") -> None:
        for text in lines:
            self._line(indent + text)

    def _blank(self) -> None:
        if not self._blank_last:
            self._line()

    # --- events ------------------------------------------------------------------------------

    def _on_deploy_started(self, event: DeployStarted) -> None:
        self._auto_rollback = event.auto_rollback
        self._lines(double_box(header_lines(event)))
        self._blank()

    def _on_step_started(self, event: StepStarted) -> None:
        self._buckets.clear()
        self._rollout = None
        self._blank()
        title = f"Step {event.number}/{event.total}: {event.title}"
        self._line(title)
        self._line("─" * cell_width(title))

    def _on_progress(self, event: Progress) -> None:
        self._line(f"→ {event.message}")

    def _on_check_passed(self, event: CheckPassed) -> None:
        self._line(f"✓ {event.message}")
        self._lines(event.details, "  ")
        self._blank()

    def _on_check_failed(self, event: CheckFailed) -> None:
        self._line(f"✗ {event.message}")
        self._lines(event.details, "  ")
        self._blank()

    def _on_task_definition_diff(self, event: TaskDefinitionDiff) -> None:
        rows = diff_rows(event)
        self._blank()
        self._line("  Task Definition Changes:")
        self._lines([tree_prefix(i, len(rows)) + text_of(row) for i, row in enumerate(rows)], "  ")
        self._blank()

    def _on_health_check(self, event: HealthCheckResult) -> None:
        self._line("  " + text_of(health_line(event)))
        self._health_open = True

    def _on_metrics_observed(self, event: MetricsObserved) -> None:
        if event.phase == "approval_wait":
            self._approval_wait(event)
        elif event.final:
            self._buckets.pop(event.phase, None)
            if event.phase == "canary":
                self._canary_readings = list(event.readings)
                self._observed = event.window_seconds or event.elapsed_seconds
            body: list[str] = []
            for reading in event.readings:
                block = reading_block(reading, event.phase, event.window_seconds)
                body += [""] + [text_of(line) for line in block]
            self._blank()
            self._lines(single_box(metrics_title(event.phase), body + [""]), "  ")
            self._blank()
        elif event.window_seconds > 0:
            bucket = int(event.elapsed_seconds / event.window_seconds * _METRIC_UPDATES)
            if 0 < bucket < _METRIC_UPDATES and bucket > self._buckets.get(event.phase, 0):
                self._buckets[event.phase] = bucket
                self._line(f"  … {metrics_progress(event)}")

    def _approval_wait(self, event: MetricsObserved) -> None:
        if not any(reading.ok is False for reading in event.readings):
            return
        alert = metrics_progress(event).partition(": ")[2]
        if alert != self._last_alert:
            self._last_alert = alert
            self._line(f"✗ Canary degraded while waiting for approval: {alert}")

    def _on_canary_judged(self, event: CanaryJudged) -> None:
        self._canary_verdict = event.verdict
        self._observed = event.observed_seconds or self._observed
        if event.verdict == "healthy":
            return
        lines = verdict_lines(event.verdict, event.observed_seconds, event.canary_requests, event.more, event.reasons)
        self._lines([text_of(line) for line in lines])

    def _on_canary_verdict_changed(self, event: CanaryVerdictChanged) -> None:
        self._canary_verdict = event.verdict
        lines = verdict_lines(event.verdict, event.observed_seconds, event.canary_requests, event.more, event.reasons)
        self._line(text_of(lines[0]) + ", while waiting for approval")
        self._lines([text_of(line) for line in lines[1:]])

    def _on_approval_requested(self, event: ApprovalRequested) -> None:
        self._blank()
        body = [text_of(line) for line in approval_body(event, self._observed)]
        self._lines(double_box(["APPROVAL REQUIRED"], body))
        self._blank()
        for channel in event.channels:
            self._line(channel_line(event, channel))
            if channel == "slack" or channel.startswith("slack:"):
                canary = canary_brief(self._canary_verdict, self._canary_readings) if self._canary_readings \
                    else None
                preview = slack_preview(event, canary)
                self._blank()
                self._lines(single_box(preview[0], preview[1:], rule=False, body_indent=1))
                self._blank()
        self._lines(event.how_to_decide, "  ")
        self._blank()
        self._line("Waiting for approval...")

    def _on_approval_decided(self, event: ApprovalDecided) -> None:
        self._line(text_of(decision_line(event)))
        self._blank()

    def _on_rollout_progress(self, event: RolloutProgress) -> None:
        if self._rollout is None:
            self._rollout, self._rollout_mark = RolloutTracker(), -1
            self._blank()
            self._line("  Deployment Progress:")
        tracker = self._rollout
        changed = tracker.add(event)
        if event.state != "IN_PROGRESS":
            verb = "Completed" if event.state == "COMPLETED" else "Failed"
            self._line(f"  └─ {verb}: {event.new_running}/{event.desired} new tasks running,"
                       f" {event.old_running} old")
            rows = tracker.summary(event)
            self._blank()
            self._line("  Rolling Update:")
            self._lines([tree_prefix(i, len(rows)) + text_of(row) for i, row in enumerate(rows)], "  ")
            self._blank()
            self._rollout = None
            return
        step = event.new_running * 10 // max(event.desired, 1)
        if changed and (step != self._rollout_mark or event.old_running == 0):
            self._rollout_mark = step
            self._line(f"  ├─ Old tasks: {event.old_running}, New tasks: {event.new_running}/{event.desired}"
                       f" ({fmt_duration(event.elapsed_seconds)})")

    def _on_step_finished(self, event: StepFinished) -> None:
        self._blank()
        self._line(f"{event.message} {'✓' if event.ok else '✗'}")
        self._blank()

    def _on_rollback_started(self, event: RollbackStarted) -> None:
        self._blank()
        self._line("Initiating automatic rollback..." if self._auto_rollback else "Initiating rollback...")
        if event.reason:
            self._line(f"  Reason: {event.reason}")
        self._line(f"→ Rolling back to {version_label(event.to_version)}...")

    def _on_rollback_finished(self, event: RollbackFinished) -> None:
        if event.ok:
            self._line("✓ Rollback complete")
            self._blank()
            self._line(f"Version: {event.from_version} → {event.to_version} (rolled back)")
        else:
            self._line(f"✗ {event.message or 'Rollback failed'}")
        self._blank()

    def _on_deploy_finished(self, event: DeployFinished) -> None:
        self._blank()
        self._lines(banner(event.headline))
        for title, items in finish_sections(event):
            self._blank()
            self._line(title)
            self._lines(items, "  ")
        if event.logged:
            self._blank()
            self._line("Deployment logged to scratchpad.")
