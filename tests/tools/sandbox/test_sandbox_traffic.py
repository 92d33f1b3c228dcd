"""The traffic model: metrics and logs come from what ran when, per version, deterministically."""

from __future__ import annotations

from datetime import timedelta

from tools.backend import Backend
from tools.models import MetricWindow, ServiceTarget, TaskDefinition


def new_revision(backend: Backend, target: ServiceTarget, version: str) -> TaskDefinition:
    image = backend.registry.find_image(target.config.image_repository, version)
    assert image is not None
    return backend.platform.register_revision(target, backend.platform.current_task_definition(target), image)


def canary_window(backend: Backend, target: ServiceTarget, version: str, seconds: int = 300) -> MetricWindow:
    backend.platform.start_canary(target, "dep-test", new_revision(backend, target, version), 1)
    start = backend.clock.now()
    backend.clock.sleep(seconds)
    window = backend.metrics.observe(target, version, start, backend.clock.now())
    backend.platform.remove_canary(target, "dep-test")
    return window


def full_load_window(backend: Backend, target: ServiceTarget, version: str) -> MetricWindow:
    backend.platform.start_rollout(target, new_revision(backend, target, version))
    backend.clock.sleep(300)
    assert backend.platform.rollout_status(target).state == "COMPLETED"
    start = backend.clock.now()
    backend.clock.sleep(300)
    return backend.metrics.observe(target, version, start, backend.clock.now())


def rates(window: MetricWindow, backend: Backend | None = None, target: ServiceTarget | None = None
          ) -> tuple[float, float]:
    """Error rate and p99; with a backend, the p99 of all the window's requests (one period), which
    10 s points of a small canary cannot give (their p99s are near their maxima and read low)."""
    p99 = window.p99_ms
    if backend is not None and target is not None:
        seconds = int((window.end - window.start).total_seconds())
        p99 = backend.metrics.observe(target, window.version, window.start, window.end, seconds).p99_ms
    assert window.error_rate_percent is not None and p99 is not None
    return window.error_rate_percent, p99


def test_request_rate_matches_the_service(backend: Backend, checkout: ServiceTarget) -> None:
    now = backend.clock.now()
    window = backend.metrics.observe(checkout, None, now - timedelta(minutes=30), now)
    assert len(window.points) == 180
    assert window.requests_per_minute is not None and 1100 < window.requests_per_minute < 1300
    errors, p99 = rates(window)
    # 1.2.2, close to the 1% limit: ~36,000 requests, so 0.9% errors is good to +-0.05% (1 sd)
    assert 0.6 < errors < 1.2 and 165 < p99 < 195


def test_same_window_gives_the_same_numbers(backend: Backend, checkout: ServiceTarget) -> None:
    end = backend.clock.now() - timedelta(minutes=1)
    start = end - timedelta(minutes=5)
    first = backend.metrics.observe(checkout, "1.2.2", start, end)
    backend.clock.sleep(120)
    assert backend.metrics.observe(checkout, "1.2.2", start, end) == first
    assert len({p.requests for p in first.points}) > 1  # noise, not a constant


def test_canary_share_and_version_profiles(backend: Backend, checkout: ServiceTarget) -> None:
    # Half-hour canaries (~3,300 requests each), so that these comparisons hold for any start time.
    better = canary_window(backend, checkout, "1.2.3", 1800)
    assert better.requests_per_minute is not None and 90 < better.requests_per_minute < 130  # ~1/11 of 1,200
    stable = backend.metrics.observe(checkout, "1.2.2", better.start, better.end)
    assert rates(better)[0] < rates(stable)[0]
    assert rates(better, backend, checkout)[1] < rates(stable, backend, checkout)[1]
    assert 110 < rates(better, backend, checkout)[1] < 180  # 142 ms
    assert rates(better)[1] < rates(better, backend, checkout)[1]  # per-10 s p99s of ~18 requests read low

    fine_as_canary = canary_window(backend, checkout, "1.2.4", 1800)
    assert rates(fine_as_canary)[0] < 0.5 and rates(fine_as_canary, backend, checkout)[1] < 200

    bad = canary_window(backend, checkout, "1.2.5", 1800)
    assert rates(bad)[0] > 2.5 and rates(bad, backend, checkout)[1] > 1800


def test_requests_have_their_own_latency_and_slow_requests_are_counted(
    backend: Backend, checkout: ServiceTarget
) -> None:
    now = backend.clock.now()
    window = backend.metrics.observe(checkout, "1.2.2", now - timedelta(minutes=10), now, 10, slower_than_ms=(180.0, 500.0))
    assert window.period_seconds == 10 and all(set(p.slow_requests) == {180.0, 500.0} for p in window.points)
    slow, very_slow = window.slow(180.0), window.slow(500.0)
    assert slow is not None and very_slow is not None
    assert 0.005 < slow / window.requests < 0.02  # ~1% of 1.2.2's requests are slower than its p99
    assert very_slow / window.requests < 0.001
    assert len({p.p99_ms for p in window.points}) > 10  # a sampled p99, not a constant with 3% noise
    assert backend.metrics.observe(checkout, "1.2.2", now - timedelta(minutes=1), now).slow(180.0) is None


def test_near_threshold_versions(backend: Backend, checkout: ServiceTarget) -> None:
    same, doubled_errors, doubled_p99 = (canary_window(backend, checkout, v, 3600) for v in ("1.2.6", "1.2.7", "1.2.8"))
    # ~6,500 canary requests each: 0.9% is ~59 errors (±4 sd: 0.43-1.37%), 1.8% ~118 (1.13-2.47%)
    assert 0.43 < rates(same)[0] < 1.37 and 1.13 < rates(doubled_errors)[0] < 2.47
    assert rates(doubled_errors)[0] > rates(same)[0]
    assert 150 < rates(same, backend, checkout)[1] < 210 and 310 < rates(doubled_p99, backend, checkout)[1] < 420


def test_late_degrading_version_is_fine_for_ten_minutes(backend: Backend, checkout: ServiceTarget) -> None:
    backend.platform.start_canary(checkout, "dep-test", new_revision(backend, checkout, "1.2.9"), 1)
    start = backend.clock.now()
    backend.clock.sleep(1800)
    early = backend.metrics.observe(checkout, "1.2.9", start, start + timedelta(minutes=9))
    late = backend.metrics.observe(checkout, "1.2.9", start + timedelta(minutes=11), start + timedelta(minutes=30))
    # ~1,000 early requests at 0.9% (9 errors, sd 3) and ~2,100 late ones at 4.5% (95, sd 9.5)
    assert rates(early)[0] < 2.4 and rates(late)[0] > 2.6
    leaks = backend.logs.error_events(checkout, start + timedelta(minutes=11), start + timedelta(minutes=30),
                                      pattern="connectionpool exhausted")
    assert leaks.events and all(e.version == "1.2.9" for e in leaks.events)


def test_degrading_release_fails_under_full_load(backend: Backend, checkout: ServiceTarget) -> None:
    errors, p99 = rates(full_load_window(backend, checkout, "1.2.4"), backend, checkout)
    assert 4.0 < errors < 6.5 and 2000 < p99 < 2600


def test_better_release_improves_the_service_after_rollout(backend: Backend, checkout: ServiceTarget) -> None:
    now = backend.clock.now()
    before = backend.metrics.observe(checkout, None, now - timedelta(minutes=5), now)
    after = full_load_window(backend, checkout, "1.2.3")
    assert rates(after)[0] < rates(before)[0] / 3 and rates(after)[1] < rates(before)[1]


def test_metrics_follow_the_task_timeline(backend: Backend, checkout: ServiceTarget) -> None:
    revision = new_revision(backend, checkout, "1.2.3")
    before_canary = backend.clock.now()
    backend.clock.sleep(60)
    started = backend.platform.start_canary(checkout, "dep-test", revision, 1)[0].started_at
    backend.clock.sleep(60)
    backend.platform.remove_canary(checkout, "dep-test")
    stopped = backend.clock.now()
    backend.clock.sleep(60)
    window = backend.metrics.observe(checkout, "1.2.3", before_canary, backend.clock.now())
    assert started is not None and 6 <= len(window.points) <= 7  # the minute it ran (periods may straddle)
    assert all(started - timedelta(seconds=10) < p.timestamp < stopped for p in window.points)
    assert 65 < window.requests < 155  # ~1/11 of 1,200 requests: 109, sd 10
    assert backend.metrics.observe(checkout, "9.9.9", before_canary, backend.clock.now()).points == []


def test_future_periods_are_not_reported(backend: Backend, checkout: ServiceTarget) -> None:
    now = backend.clock.now()
    window = backend.metrics.observe(checkout, None, now - timedelta(seconds=60), now + timedelta(minutes=10))
    assert len(window.points) == 6
    assert all(p.timestamp < now for p in window.points)


def test_logs_follow_errors(backend: Backend, checkout: ServiceTarget) -> None:
    revision = new_revision(backend, checkout, "1.2.5")
    backend.platform.start_canary(checkout, "dep-test", revision, 1)
    start = backend.clock.now()
    backend.clock.sleep(600)  # long enough that the canary's share surely logs a handful of pool errors
    end = backend.clock.now()
    found = backend.logs.error_events(checkout, start, end, limit=10_000)
    events = found.events
    counted = sum(backend.metrics.observe(checkout, v, start, end).errors for v in ("1.2.2", "1.2.5"))
    assert len(events) == counted == found.total > 0 and found.complete
    assert [e.timestamp for e in events] == sorted(e.timestamp for e in events)
    assert all(start <= e.timestamp < end and e.level == "ERROR" for e in events)

    canary_ids = {t.task_id for t in backend.platform.canary_tasks(checkout, "dep-test")}
    pool = [e for e in events if e.version == "1.2.5"]
    assert pool and all(e.task_id in canary_ids for e in pool)
    assert any("ConnectionPool exhausted" in e.message for e in pool)

    matching = backend.logs.error_events(checkout, start, end, pattern="connectionpool", limit=5)
    assert len(matching.events) == 5 and all("ConnectionPool" in e.message for e in matching.events)
    assert matching.total == sum("ConnectionPool" in e.message for e in events)  # every match counted
    newest = backend.logs.error_events(checkout, start, end, limit=3)
    assert newest.events == events[-3:] and newest.total == counted  # the newest 3, and the true count


def test_out_of_memory_logs_under_load(backend: Backend, checkout: ServiceTarget) -> None:
    window = full_load_window(backend, checkout, "1.2.4")
    events = backend.logs.error_events(checkout, window.start, window.end, pattern="heap space").events
    assert events and all(e.version == "1.2.4" for e in events)


def test_counts_without_latency_are_the_same_counts(backend: Backend, checkout: ServiceTarget) -> None:
    # the error-rate alarms read counts only (status evaluates every alarm of every service)
    now = backend.clock.now()
    source = backend.platform.fleet.traffic(checkout)  # type: ignore[attr-defined]
    full = source.observe(None, now - timedelta(minutes=3), now, 60)
    counts = source.observe(None, now - timedelta(minutes=3), now, 60, (180.0,), with_latency=False)
    assert [(p.requests, p.errors) for p in counts] == [(p.requests, p.errors) for p in full]
    assert all(p.p99_ms is not None for p in full) and all(p.p99_ms is None for p in counts)
    assert all(not p.slow_requests for p in counts)  # unknown, not zero
