import io
import re

import pytest
from rich.console import Console

from agent.render.rich_view import RichRenderer
from skills.events import (
    ApprovalDecided,
    CheckFailed,
    MetricReading,
    MetricsObserved,
    Progress,
    RolloutProgress,
    StepFinished,
    StepStarted,
)

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(autouse=True)
def _colours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)


def make() -> tuple[RichRenderer, io.StringIO]:
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=100, highlight=False, markup=False, emoji=False)
    return RichRenderer(console), stream


def run(events) -> tuple[RichRenderer, str]:
    renderer, stream = make()
    for event in events:
        renderer(event)
    renderer.close()
    return renderer, stream.getvalue()


def live_stack(renderer: RichRenderer) -> list:
    return list(getattr(renderer.console, "_live_stack", []))


def test_success_shows_the_seed_in_colour(success) -> None:
    renderer, raw = run(success)
    text = ANSI.sub("", raw)
    assert ANSI.search(raw)  # coloured
    for needle in (
        "Deploying checkout-api v1.2.3", "Environment: production", "Step 1/6: Pre-deployment Checks",
        "✓ Service found: checkout-api (ECS, prod cluster)", "Task Definition Changes:",
        "Image: 1.2.2 → 1.2.3",
        "Memory: 512 MB (unchanged)", "Environment: No changes", "Check 1/3: ✓ Healthy", "Canary Metrics",
        "Threshold: 1%    Current: 0.02% ✓", "▁▁▁▁▁▁▁▁", "▃▃▃▃▃▃▃▃ 145ms", "Observing canary metrics",
        "APPROVAL REQUIRED", "Risk Level: HIGH", "Sent to Slack #runbook-approvals...",
        "Waiting for approval (expires 15:40 UTC)", "✓ Approved by @alice at 15:10 UTC", "Rolling out",
        "10/10", "Rolling Update:", "Old tasks: 10 → 8 → 5 → 2 → 0", "Duration: 4m 32s",
        "Post-Deployment Metrics", "Before: 0.5%   After: 0.03% ✓ (improved)",
        "Current: 1,200/min ✓ (stable)",
        "DEPLOYMENT SUCCESSFUL", "Improvements Observed:", "Deployment logged to scratchpad.",
    ):
        assert needle in text, needle
    assert renderer.errors == 0
    assert not renderer.live and not live_stack(renderer)


@pytest.mark.parametrize(("scenario", "needle"), [
    ("canary_failure", "CANARY FAILED"), ("validation_rollback", "Rollback complete"),
    ("denial", "✗ Denied by @bob"), ("dry_run", "(dry run)"), ("check_failure", "✗ Image not found"),
])
def test_every_scenario_draws_without_errors(scenario, needle, request) -> None:
    renderer, raw = run(request.getfixturevalue(scenario))
    assert renderer.errors == 0 and not renderer.live and not live_stack(renderer)
    assert needle in ANSI.sub("", raw)


def test_close_stops_a_rollout_in_flight() -> None:
    renderer, _ = make()
    renderer(RolloutProgress(desired=10, new_running=3, old_running=7, elapsed_seconds=40))
    assert renderer.live and live_stack(renderer)
    renderer.close()
    assert not renderer.live and not live_stack(renderer)
    renderer.close()  # twice is fine


def test_close_stops_a_metrics_status() -> None:
    renderer, _ = make()
    reading = MetricReading(name="Error Rate", unit="%", value=0.1, threshold=1.0, ok=True, series=[0.1, 0.2])
    renderer(MetricsObserved(phase="canary", elapsed_seconds=10, window_seconds=60, readings=[reading]))
    assert renderer.live
    renderer.close()
    assert not renderer.live and not live_stack(renderer)


def test_live_displays_hand_over_in_any_order() -> None:
    reading = MetricReading(name="Latency (p99)", unit="ms", value=None, series=[])
    odd = [
        RolloutProgress(desired=0, new_running=0, old_running=0, elapsed_seconds=0),
        MetricsObserved(phase="validation", elapsed_seconds=1, window_seconds=0, readings=[reading]),
        RolloutProgress(desired=4, new_running=9, old_running=-1, elapsed_seconds=float("nan")),
        MetricsObserved(phase="approval_wait", elapsed_seconds=1, window_seconds=60,
                        readings=[reading.model_copy(update={"ok": False})]),
        ApprovalDecided(request_id="r", decision="aborted", reason="canary degraded"),
        Progress(message="[bold]not markup[/bold] :smile:"),
        CheckFailed(check="x", message="Lock held by [ci]"),
        RolloutProgress(desired=2, new_running=1, old_running=1, elapsed_seconds=3, state="FAILED"),
        StepStarted(number=9, total=1, title=""),
        StepFinished(number=9, ok=False, message=""),
        object(), None,
    ]
    renderer, raw = run(odd)
    assert renderer.errors == 0
    assert not renderer.live and not live_stack(renderer)
    text = ANSI.sub("", raw)
    assert "[bold]not markup[/bold] :smile:" in text and "Lock held by [ci]" in text
    assert "✗ Approval aborted: canary degraded" in text
