"""What a metrics reading says: the lines of a metrics box and one-line summaries of progress."""

from __future__ import annotations

import re

from agent.render.content import BAD, BOLD, DIM, SPARK, WARN, Line, mark
from agent.render.format import fmt_value, pad, sparkline, window_label
from skills.events import MetricReading, MetricsObserved


def metrics_title(phase: str) -> str:
    return {"canary": "Canary Metrics", "validation": "Post-Deployment Metrics"}.get(phase, "Canary Metrics")


def _is_status(reading: MetricReading) -> bool:
    return reading.unit == "" and "health" in reading.name.lower()


def _is_rate(reading: MetricReading) -> bool:
    return reading.unit.startswith("/")


def _value_and_mark(reading: MetricReading, show_verdict: bool) -> Line:
    if reading.value is None:
        return [("?", WARN), (f" ({reading.verdict or 'no data'})", DIM)]
    line: Line = [(fmt_value(reading.value, reading.unit) + " ", ""), mark(reading.ok)]
    if reading.ok is None or (show_verdict and reading.verdict):
        line.append((f" ({reading.verdict or 'no data'})", BAD if reading.ok is False else DIM))
    return line


def _status_line(reading: MetricReading, phase: str) -> Line:
    if reading.ok is None and not reading.verdict:
        return [("Status: ", ""), ("?", WARN), (" (no data)", DIM)]
    default = ("All passing" if phase == "validation" else "Passing") if reading.ok else "Failing"
    status = reading.verdict or default
    return [("Status: ", ""), (status[:1].upper() + status[1:] + " ", ""), mark(reading.ok)]


def reading_block(reading: MetricReading, phase: str, window_seconds: float) -> list[Line]:
    """Title, status line and (when there is a series) sparkline of one reading in a metrics box."""
    name = reading.name
    compare = phase == "validation" and reading.baseline is not None and not _is_rate(reading)
    if phase == "validation":
        name = re.sub(r"\s*\(([^)]*)\)", r" \1", name).strip()
        if compare and not _is_status(reading):
            name += f" ({window_label(window_seconds)})"
    lines: list[Line] = [[(name, BOLD)]]
    if _is_status(reading):
        return lines + [_status_line(reading, phase)]
    show_verdict = phase != "canary" or reading.ok is False
    if compare:
        before = pad(f"Before: {fmt_value(reading.baseline, reading.unit)}", 14) + " "
        lines.append([(before, ""), ("After: ", "")] + _value_and_mark(reading, show_verdict))
    elif reading.threshold is not None:
        limit = pad(f"Threshold: {fmt_value(reading.threshold, reading.unit)}", 16) + " "
        lines.append([(limit, ""), ("Current: ", "")] + _value_and_mark(reading, show_verdict))
    else:
        lines.append([("Current: ", "")] + _value_and_mark(reading, show_verdict))
    if reading.detail and phase != "validation":
        lines.append([(reading.detail, DIM)])
    bars = sparkline(reading.series, ceiling=reading.threshold)
    if bars:
        tail = ""
        if phase == "canary" and reading.value is not None:
            tail = f" {fmt_value(reading.value, reading.unit)}"
        lines.append([(bars, SPARK), (tail, "")])
    return lines


def short_readings(readings: list[MetricReading]) -> list[tuple[str, str, bool | None]]:
    """(label, value, ok) per reading, for one-line summaries: ("errors", "0.02%", True)."""
    out = []
    for reading in readings:
        lowered = reading.name.lower()
        if _is_status(reading):
            label, value = "health", (reading.verdict or ("passing" if reading.ok else "failing")).lower()
        else:
            value = fmt_value(reading.value, reading.unit)
            if "error" in lowered:
                label = "errors"
            elif "p99" in lowered:
                label = "p99"
            elif "latency" in lowered:
                label = "latency"
            elif "request" in lowered:
                label = "requests"
            else:
                label = lowered
        out.append((label, value, reading.ok))
    return out


def metrics_progress(event: MetricsObserved) -> str:
    """"30s/60s: errors 0.02%, p99 145ms"."""
    parts = [f"{label} {value}" + (" ✗" if ok is False else "")
             for label, value, ok in short_readings(event.readings)]
    when = f"{window_label(event.elapsed_seconds)}/{window_label(event.window_seconds)}"
    return f"{when}: " + ", ".join(parts) if parts else when


def canary_brief(verdict: str | None, readings: list[MetricReading]) -> str:
    """"Healthy (0.02% errors, 145ms p99)" for the Slack preview."""
    parts = [f"{value} {label}" for label, value, _ in short_readings(readings) if label != "health"]
    head = (verdict or "observed").capitalize()
    return f"{head} ({', '.join(parts)})" if parts else head
