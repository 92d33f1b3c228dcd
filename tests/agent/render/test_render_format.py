from datetime import UTC, datetime, timedelta, timezone

from agent.render.format import (
    cell_width,
    fmt_clock,
    fmt_duration,
    fmt_ms,
    fmt_percent,
    fmt_value,
    sparkline,
    window_label,
)


def test_percentages_drop_trailing_zeros() -> None:
    values = (1.0, 0.02, 5.2, 0.5, 0.0, 12.345)
    assert [fmt_percent(v) for v in values] == ["1%", "0.02%", "5.2%", "0.5%", "0%", "12.35%"]
    assert fmt_percent(0.001) == "<0.01%"


def test_milliseconds_switch_to_seconds_at_1000() -> None:
    assert [fmt_ms(v) for v in (145.0, 142.4, 999.4, 999.6, 2300.0, 2000.0)] == [
        "145ms", "142ms", "999ms", "1s", "2.3s", "2s"]


def test_values_by_unit() -> None:
    assert fmt_value(1200.0, "/min") == "1,200/min"
    assert fmt_value(12345.6, "/min") == "12,346/min"
    assert fmt_value(2.5, "/min") == "2.5/min"
    assert fmt_value(245.0, "MB") == "245 MB"
    assert fmt_value(None, "%") == "n/a"
    assert fmt_value(float("nan"), "ms") == "n/a"


def test_durations_and_windows() -> None:
    assert [fmt_duration(s) for s in (0, 45, 272, 514, 3725)] == ["0s", "45s", "4m 32s", "8m 34s", "1h 2m"]
    assert [window_label(s) for s in (60, 90, 300, 150, 3600)] == ["60s", "90s", "5m", "2m 30s", "1h"]


def test_clock_is_utc() -> None:
    assert fmt_clock(datetime(2024, 1, 15, 15, 10, tzinfo=UTC)) == "15:10 UTC"
    assert fmt_clock(datetime(2024, 1, 15, 16, 10, tzinfo=timezone(timedelta(hours=1)))) == "15:10 UTC"
    assert fmt_clock(datetime(2024, 1, 15, 15, 10)) == "15:10 UTC"


def test_sparkline_scales_to_the_threshold() -> None:
    assert sparkline([0.02] * 30, ceiling=1.0) == "▁" * 24
    assert sparkline([145.0] * 30, ceiling=500.0) == "▃" * 24
    assert sparkline([1200.0] * 24) == "▅" * 24  # no threshold: a flat series sits mid-height
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7], width=8, ceiling=7) == "▁▂▃▄▅▆▇█"
    assert sparkline([]) == ""
    assert sparkline([float("nan"), float("inf")]) == ""
    assert sparkline([0.0, 0.0]) == "▁" * 2  # two samples are two bars, not each drawn twelve times
    assert sparkline([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], ceiling=1.0) == "▂▂▃▄▅▅"
    assert len(sparkline(list(range(100)))) == 24


def test_cell_width_counts_wide_emoji() -> None:
    assert cell_width("✓ ok") == 4
    assert cell_width("[✅ Approve]") == 12
