"""Numbers, durations, clock times and sparklines, shared by every text renderer."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime

SPARK_CHARS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 24
# Without a threshold to scale against, leave headroom so a flat series sits mid-height.
_HEADROOM = 1.6


def trim_number(value: float, decimals: int) -> str:
    """`value` with at most `decimals` decimals and no trailing zeros: 1.0 -> "1", 5.20 -> "5.2"."""
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def fmt_percent(value: float) -> str:
    if 0 < abs(value) < 0.005:
        return "<0.01%"
    return f"{trim_number(value, 2)}%"


def fmt_ms(value: float) -> str:
    if abs(round(value)) >= 1000:
        return f"{trim_number(value / 1000, 1)}s"
    return f"{round(value)}ms"


def fmt_rate(value: float, unit: str) -> str:
    if abs(value) >= 100 or float(value).is_integer():
        return f"{round(value):,}{unit}"
    return f"{trim_number(value, 2)}{unit}"


def fmt_value(value: float | None, unit: str) -> str:
    """A metric value in its unit: "0.02%", "145ms", "2.3s", "1,200/min"."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if unit == "%":
        return fmt_percent(value)
    if unit == "ms":
        return fmt_ms(value)
    if unit.startswith("/"):
        return fmt_rate(value, unit)
    number = f"{value:,.0f}" if abs(value) >= 1000 else trim_number(value, 2)
    if not unit or unit == "s" or not unit[0].isalnum():
        return f"{number}{unit}"
    return f"{number} {unit}"


def fmt_duration(seconds: float) -> str:
    """"45s", "8m 34s", "1h 2m"."""
    total = int(round(max(seconds, 0.0))) if math.isfinite(seconds) else 0
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m {total % 60}s"
    return f"{total // 3600}h {total % 3600 // 60}m"


def window_label(seconds: float) -> str:
    """A window's length as people say it: 60 -> "60s", 300 -> "5m", 3600 -> "1h"."""
    total = int(round(max(seconds, 0.0))) if math.isfinite(seconds) else 0
    if total >= 3600 and total % 3600 == 0:
        return f"{total // 3600}h"
    if total >= 120 and total % 60 == 0:
        return f"{total // 60}m"
    return f"{total}s" if total < 120 else fmt_duration(total)


def fmt_clock(moment: datetime | None) -> str:
    """"15:10 UTC"; a naive datetime is taken to be UTC already."""
    if moment is None:
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment:%H:%M} UTC"


def version_label(version: str) -> str:
    return version if version[:1] in ("v", "V") else f"v{version}"


def _resample(points: list[float], width: int) -> list[float]:
    """At most `width` points: fewer samples are drawn as they are (never one sample as several bars)."""
    count = len(points)
    if count <= width:
        return points
    out = []
    for i in range(width):
        chunk = points[i * count // width:(i + 1) * count // width] or [points[i * count // width]]
        out.append(sum(chunk) / len(chunk))
    return out


def sparkline(series: Sequence[float], width: int = SPARK_WIDTH, ceiling: float | None = None) -> str:
    """Eight-level bars of `series` (one per sample, averaged down to `width`), scaled from 0 to `ceiling`
    (a threshold) or the series' own peak."""
    points = [float(v) for v in series if v is not None and math.isfinite(v)]
    if not points or width <= 0:
        return ""
    points = _resample(points, width)
    low = min(0.0, min(points))
    top = max(points)
    if ceiling is not None and math.isfinite(ceiling) and ceiling > 0:
        top = max(top, ceiling)
    else:
        top = low + (top - low) * _HEADROOM
    if top <= low:
        return SPARK_CHARS[0] * len(points)
    last = len(SPARK_CHARS) - 1
    return "".join(SPARK_CHARS[min(last, max(0, round((v - low) / (top - low) * last)))] for v in points)


def cell_width(text: str) -> int:
    """Columns `text` takes in a terminal (wide emoji count two, combining marks none)."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or char in "\ufe0f\u200d":
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def pad(text: str, width: int) -> str:
    """`text` padded with spaces to `width` terminal columns."""
    return text + " " * max(0, width - cell_width(text))
