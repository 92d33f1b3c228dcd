"""The one live display the rich view may have at a time: a status line or the rollout progress bar."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn
from rich.status import Status
from rich.text import Text

from agent.render.format import fmt_duration, sparkline
from agent.render.metrics import metrics_progress, short_readings
from skills.events import MetricsObserved, RolloutProgress


def metrics_status(prefix: str, event: MetricsObserved, width: int, with_time: bool = True) -> Text:
    """"Observing canary metrics 30s/60s  errors 0.02% ▁▁▂▁  p99 145ms ▃▃▃▃", cut to `width` columns."""
    text = Text(prefix, style="bold")
    if with_time:
        text.append(metrics_progress(event).partition(": ")[0], style="dim")
    gap = "  " if with_time else " "
    for reading, (label, value, ok) in zip(event.readings, short_readings(event.readings), strict=True):
        text.append(f"{gap}{label} ")
        gap = "  "
        text.append(value, style="red" if ok is False else "")
        bars = sparkline(reading.series[-24:], width=min(8, len(reading.series)), ceiling=reading.threshold)
        if bars:
            text.append(" " + bars, style="cyan")
    text.truncate(max(width, 10), overflow="ellipsis")
    return text


class LiveSlot:
    """rich allows one live display per console: starting one stops whatever ran before."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._live: Status | Progress | None = None
        self._task: TaskID | None = None
        self.kind = ""

    @property
    def active(self) -> bool:
        return self._live is not None

    def stop(self, kind: str | None = None) -> None:
        """Stop the live display (only if it is of `kind`, when given)."""
        if kind is not None and kind != self.kind:
            return
        live, self._live, self._task, self.kind = self._live, None, None, ""
        if live is not None:
            try:
                live.stop()
            except Exception:
                pass

    def status(self, kind: str, text: Text) -> None:
        if self.kind == kind and isinstance(self._live, Status):
            self._live.update(text)
            return
        self.stop()
        status = Status(text, console=self._console, spinner="dots")
        status.start()
        self._live, self.kind = status, kind

    def update_status(self, kind: str, text: Text) -> None:
        """Change the text of a running status line of `kind`; start nothing."""
        if self.kind == kind and isinstance(self._live, Status):
            self._live.update(text)

    def rollout(self, event: RolloutProgress) -> None:
        if self.kind != "rollout" or not isinstance(self._live, Progress) or self._task is None:
            self.stop()
            progress = Progress(
                SpinnerColumn(), TextColumn("[bold]Rolling out"), BarColumn(), MofNCompleteColumn(),
                TextColumn("new tasks · {task.fields[old]} old · {task.fields[elapsed]}"),
                console=self._console,
            )
            self._task = progress.add_task("rollout", total=max(event.desired, 1), old=0, elapsed="0s")
            progress.start()
            self._live, self.kind = progress, "rollout"
        live, task = self._live, self._task
        assert isinstance(live, Progress) and task is not None
        live.update(task, total=max(event.desired, 1), completed=event.new_running,
                    old=event.old_running, elapsed=fmt_duration(event.elapsed_seconds))
        if event.state != "IN_PROGRESS":
            live.refresh()
            self.stop()
