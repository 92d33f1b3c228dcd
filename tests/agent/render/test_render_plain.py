import io
import re

from agent.render import make_renderer
from agent.render.content import decision_line, text_of
from agent.render.format import cell_width
from agent.render.metrics import reading_block
from skills.events import ApprovalDecided, MetricReading, MetricsObserved, RolloutProgress

ANSI = re.compile(r"\x1b\[")


def render(events) -> str:
    stream = io.StringIO()
    renderer = make_renderer("plain", stream)
    for event in events:
        renderer(event)
    renderer.close()
    return stream.getvalue()


def assert_in_order(text: str, needles: list[str]) -> None:
    position = 0
    for needle in needles:
        found = text.find(needle, position)
        assert found >= 0, f"{needle!r} missing (or out of order) after position {position}:\n{text}"
        position = found + len(needle)


def test_success_follows_the_seed(success) -> None:
    out = render(success)
    assert not ANSI.search(out)
    assert_in_order(out, [
        "╔══", "Deploying checkout-api v1.2.3", "Environment: production", "╚══",
        "Step 1/6: Pre-deployment Checks\n───────────────────────────────\n→ Checking service exists...\n"
        "✓ Service found: checkout-api (ECS, prod cluster)\n\n→ Checking current version...",
        "✓ Current version: 1.2.2\n  Running: 4 tasks, all healthy\n"
        "  Last deployed: 2024-01-14 10:30 UTC\n\n",
        "\nAll pre-deployment checks passed ✓\n\n",
        "Step 2/6: Validate Configuration",
        "→ Comparing configurations...\n\n  Task Definition Changes:\n  ├─ Image: 1.2.2 → 1.2.3\n"
        "  ├─ Memory: 512 MB (unchanged)\n  ├─ CPU: 256 units (unchanged)\n  └─ Environment: No changes\n\n",
        "Configuration validated ✓",
        "Step 3/6: Canary Deployment (10%)",
        "  Check 1/3: ✓ Healthy\n  Check 2/3: ✓ Healthy\n  Check 3/3: ✓ Healthy\n\n"
        "→ Observing metrics (60s)...",
        "  │ Canary Metrics", "  │  Error Rate ", "  │  Threshold: 1%    Current: 0.02% ✓ ",
        "  │  ▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁▁ 0.02%", "  │  Latency (p99) ",
        "  │  Threshold: 500ms Current: 145ms ✓ ", "  │  ▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃▃ 145ms",
        "  │  Health Checks ", "  │  Status: Passing ✓ ",
        "Canary healthy after 60s observation ✓",
        "Step 4/6: Request Approval", "APPROVAL REQUIRED", "╠══",
        "║  Operation: Deploy checkout-api v1.2.3 to 100% ", "║  Risk Level: HIGH ",
        "║  Canary Results (60s observation): ", "║    • Error rate: 0.02% (threshold: 1%) ✓ ",
        "║  Changes: ", "║    • Image: 1.2.2 → 1.2.3 ", "║  Rollback Command: ",
        "║    runbook deploy checkout-api --version 1.2.2 ",
        "Sent to Slack #runbook-approvals...", "│ Canary: Healthy (0.02% errors, 145ms p99)",
        "Approval requested in the terminal (request apr-1, expires 15:40 UTC).",
        "  To decide, an approver other than dev runs:",
        "Waiting for approval...\n✓ Approved by @alice at 15:10 UTC\n\nStep 5/6: Full Rollout",
        "→ Updating service to v1.2.3...",
        "  Rolling Update:\n  ├─ Old tasks: 10 → 8 → 5 → 2 → 0\n  ├─ New tasks: 0 → 2 → 5 → 8 → 10\n"
        "  └─ Duration: 4m 32s\n",
        "Full rollout complete ✓",
        "Step 6/6: Post-deployment Validation", "Post-Deployment Metrics",
        "  │  Error Rate (5m) ", "  │  Before: 0.5%   After: 0.03% ✓ (improved) ",
        "  │  Latency p99 (5m) ", "  │  Before: 180ms  After: 142ms ✓ (improved) ",
        "  │  Request Rate ", "  │  Current: 1,200/min ✓ (stable) ", "  │  Status: All passing ✓ ",
        "Post-deployment validation passed ✓",
        "═" * 63 + "\n", "DEPLOYMENT SUCCESSFUL\n", "═" * 63 + "\n\n",
        "Summary:\n  Service: checkout-api\n  Version: 1.2.2 → 1.2.3\n  Environment: production\n"
        "  Duration: 8m 34s\n  Tasks: 10\n\n",
        "Improvements Observed:\n  • Error rate: 0.5% → 0.03% (94% reduction)\n",
        "Rollback Command (if needed):\n  runbook deploy checkout-api --version 1.2.2\n\n",
        "Deployment logged to scratchpad.\n",
    ])
    assert "\n\n\n" not in out
    assert not out.startswith("\n")


def test_boxes_are_rectangular(success) -> None:
    out = render(success)
    blocks = re.findall(r"(?ms)^ *[╔┌].*?[╝┘]$", out)
    assert len(blocks) == 5  # header, canary metrics, approval, Slack preview, validation metrics
    for block in blocks:
        assert len({cell_width(line) for line in block.splitlines()}) == 1, block


def test_long_work_shows_progress_without_flooding(success) -> None:
    out = render(success)
    canary = out[out.index("→ Observing metrics"):out.index("Canary Metrics")]
    assert canary.count("  … ") == 3  # eleven updates in the window: one line per quarter
    assert "  … 15s/60s: errors 0.02%, p99 145ms" in canary
    rollout = out[out.index("Step 5/6"):out.index("Rolling Update")]
    assert rollout.count("├─ Old tasks:") == 4  # seven updates, four distinct counts before completion
    assert "  ├─ Old tasks: 8, New tasks: 2/10" in rollout
    assert "Waiting for approval" in out and "degraded while waiting" not in out


def test_canary_failure(canary_failure) -> None:
    out = render(canary_failure)
    assert_in_order(out, [
        "Threshold: 1%    Current: 5.2% ✗", "✗ Error rate 5.2% is above the 1% threshold",
        "Canary unhealthy after 60s observation ✗", "CANARY FAILED — DEPLOYMENT ABORTED",
        "Observations:\n  • Error rate 5.2% is above the 1% threshold",
        'Please investigate:\n  runbook ask "Show errors for checkout-api last 10 minutes"',
    ])
    assert "APPROVAL REQUIRED" not in out and not ANSI.search(out)


def test_validation_failure_rolls_back(validation_rollback) -> None:
    out = render(validation_rollback)
    assert_in_order(out, [
        "Before: 0.5%   After: 5.2% ✗ (degraded)", "Before: 180ms  After: 2.3s ✗ (degraded)",
        "Post-deployment validation failed ✗", "Initiating automatic rollback...",
        "→ Rolling back to v1.2.2...",
        "→ Updating service...", "✓ Rollback complete\n\nVersion: 1.2.3 → 1.2.2 (rolled back)",
        "DEPLOYMENT VALIDATION FAILED", "Please investigate:",
    ])


def test_denial(denial) -> None:
    out = render(denial)
    assert_in_order(out, ["Waiting for approval...", "✗ Denied by @bob at 15:10 UTC: not during the sale",
                          "DEPLOYMENT DENIED"])
    assert "Step 5/6" not in out


def test_dry_run(dry_run) -> None:
    out = render(dry_run)
    assert_in_order(out, ["Deploying checkout-api v1.2.3 (dry run)", "DRY RUN — NOTHING CHANGED",
                          "Plan:\n  • Canary 1 of 10 tasks for 60s"])
    assert "Deployment logged to scratchpad." not in out


def test_failed_check(check_failure) -> None:
    out = render(check_failure)
    assert_in_order(out, ["✗ Image not found: checkout-api:9.9.9\n  Known versions: 1.2.2, 1.2.3\n\n",
                          "Pre-deployment checks failed ✗", "PRE-DEPLOYMENT CHECKS FAILED"])


def test_every_decision_has_its_line(denial) -> None:
    at = denial[-2].decided_at
    cases = (("approved", "@alice", ""), ("expired", None, ""), ("aborted", None, "canary degraded"))
    decided = [ApprovalDecided(request_id="r", decision=d, by=by, decided_at=at, reason=r)
               for d, by, r in cases]
    lines = [text_of(decision_line(event)) for event in decided]
    assert lines == ["✓ Approved by @alice at 15:10 UTC", "✗ Approval expired at 15:10 UTC",
                     "✗ Approval aborted: canary degraded"]


def test_canary_degrading_during_approval_is_shown_once() -> None:
    bad = MetricReading(name="Error Rate", unit="%", value=5.2, threshold=1.0, ok=False)
    wait = MetricsObserved(phase="approval_wait", elapsed_seconds=60, window_seconds=60, readings=[bad])
    out = render([wait, wait])
    assert out.count("✗ Canary degraded while waiting for approval: errors 5.2% ✗") == 1


def test_readings_without_data_say_so() -> None:
    empty = MetricReading(name="Error Rate", unit="%", value=None, threshold=1.0)
    lines = [text_of(line) for line in reading_block(empty, "canary", 60)]
    assert lines == ["Error Rate", "Threshold: 1%    Current: ? (no data)"]
    health = MetricReading(name="Health Checks", unit="", value=None, ok=None)
    assert text_of(reading_block(health, "canary", 60)[1]) == "Status: ? (no data)"


def test_failed_rollout_and_odd_input_do_not_crash() -> None:
    events = [
        RolloutProgress(desired=0, new_running=0, old_running=3, elapsed_seconds=5),
        RolloutProgress(desired=0, new_running=0, old_running=3, elapsed_seconds=65, state="FAILED"),
        MetricsObserved(phase="canary", elapsed_seconds=5, window_seconds=0, readings=[]),
        MetricsObserved(phase="validation", elapsed_seconds=5, window_seconds=0, readings=[], final=True),
        object(), None, "text",
    ]
    out = render(events)
    assert "└─ Failed after 1m 5s" in out and "could not display" not in out


def test_an_inconclusive_canary_says_how_much_more_each_verdict_needs() -> None:
    from skills.events import CanaryJudged, CanaryVerdictChanged, MoreEvidence

    more = [MoreEvidence(verdict="healthy", requests=2734, minutes=26.6, goal="to show it healthy"),
            MoreEvidence(verdict="unhealthy", requests=1412, minutes=13.7, goal="to catch a 2x regression")]
    judged = CanaryJudged(verdict="inconclusive", observed_seconds=60, canary_requests=108, more=more)
    changed = CanaryVerdictChanged(verdict="healthy", previous="inconclusive", observed_seconds=400,
                                   canary_requests=730)
    reading = MetricReading(name="Latency (p99)", unit="ms", value=140, threshold=500, ok=None,
                            verdict="inconclusive", detail="1.1% slower than 180ms (stable 1%)")
    box = [text_of(line) for line in reading_block(reading, "canary", 60)]
    out = render([judged, changed])
    assert_in_order(out, [
        "? Verdict: inconclusive after 60s (108 canary requests)",
        "To show it healthy: about 2,700 more canary requests (≈ 27 min at the current rate)",
        "To catch a 2x regression: about 1,400 more canary requests (≈ 14 min at the current rate)",
        "✓ Verdict: healthy after 6 min (730 canary requests), while waiting for approval",
    ])
    assert box[1] == "Threshold: 500ms Current: 140ms ? (inconclusive)" and box[2] == "1.1% slower than 180ms (stable 1%)"


def test_an_override_is_said_on_the_decision_line() -> None:
    event = ApprovalDecided(request_id="r", decision="approved", by="alice", override=True)
    assert text_of(decision_line(event)) == "✓ Approved by @alice (override: the canary was inconclusive)"
