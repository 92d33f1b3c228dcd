"""Deterministic verdicts on observed metrics. The model never judges health; these rules do.

The statistics live in `sequential` (anytime-valid tests) and accumulate in `evidence`; this module
says what they mean: healthy / unhealthy / inconclusive, the reasons, the readings people see, and
for an inconclusive canary "about N more canary requests (≈ M min at the current rate)" per side.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from skills.deploy import sequential as seq
from skills.deploy.evidence import Evidence
from skills.events import MetricReading, MoreEvidence, Verdict, more_sentences, span_of
from tools.config import Thresholds
from tools.models import MetricWindow


@dataclass
class Judgement:
    verdict: Verdict
    reasons: list[str] = field(default_factory=list)
    readings: list[MetricReading] = field(default_factory=list)
    more: list[MoreEvidence] = field(default_factory=list)
    canary_requests: int = 0

    @property
    def healthy(self) -> bool:
        return self.verdict == "healthy"


def fmt_percent(value: float | None) -> str:
    if value is None:
        return "no data"
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return f"{text}%"


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "no data"
    return f"{value / 1000:.1f}s" if value >= 1000 else f"{value:.0f}ms"


# --- the canary -----------------------------------------------------------------------------------

RELATIVE = ("worse", "slo", "change")  # the statements against a canary; a rollback's: only "slo"


def _metric_state(cmp: seq.Comparison, metric: str, kinds: tuple[str, ...] = RELATIVE) -> tuple[bool | None, str]:
    worse = any(cmp.crossed[f"{metric}_{kind}"] for kind in kinds)
    if worse:
        return False, "unhealthy"
    if cmp.crossed[f"{metric}_fine"]:
        return True, "healthy"
    return None, "inconclusive"


def _canary_reasons(ev: Evidence, limits: Thresholds, relative: bool = True) -> list[str]:
    cmp, new, base = ev.comparison, ev.new, ev.base
    reasons = []
    if relative and (cmp.crossed["errors_worse"] or cmp.crossed["errors_change"]):
        when = "became" if cmp.crossed["errors_change"] and not cmp.crossed["errors_worse"] else "is"
        reasons.append(f"Error rate {fmt_percent(new.error_rate_percent)} {when} credibly higher than the stable"
                       f" version's {fmt_percent(base.error_rate_percent)} ({new.errors} of the"
                       f" {new.errors + base.errors} errors came from the canary)")
    if cmp.crossed["errors_slo"]:
        reasons.append(f"Error rate {fmt_percent(new.error_rate_percent)} is credibly above the"
                       f" {fmt_percent(limits.error_rate_percent)} threshold")
    if relative and ev.latency_counted and (cmp.crossed["slow_worse"] or cmp.crossed["slow_change"]):
        reasons.append(f"Latency: {fmt_percent(new.slow_percent)} of canary requests were slower than"
                       f" {fmt_ms(ev.reference_ms)} (the stable's p99 before the deploy), against"
                       f" {fmt_percent(base.slow_percent)} of the stable's")
    if cmp.crossed["slow_slo"]:
        reasons.append(f"Latency p99 is credibly above the {fmt_ms(limits.p99_latency_ms)} threshold (more than"
                       f" 1% of canary requests slower than it)")
    return reasons


def _more(ev: Evidence) -> list[MoreEvidence]:
    cmp = ev.comparison
    rate = ev.requests_per_minute
    metrics = ["errors"] + (["slow"] if ev.latency_counted else [])

    def item(verdict: str, values: list[float | None], pick: str, goal: str, assumption: str) -> MoreEvidence:
        known = [v for v in values if v is not None]
        n = None if len(known) < len(values) and pick == "max" or not known else (max(known) if pick == "max"
                                                                                  else min(known))
        minutes = None if n is None or not rate else n / rate
        return MoreEvidence(verdict=verdict, requests=None if n is None else round(n),  # type: ignore[arg-type]
                            minutes=minutes, goal=goal, assumption=assumption)

    fine = [seq.more_requests_share(getattr(cmp, m), "fine", cmp.threshold(f"{m}_fine")) for m in metrics]
    worse = [seq.more_requests_share(getattr(cmp, m), "worse", cmp.threshold(f"{m}_worse")) for m in metrics]
    return [item("healthy", fine, "max", "to show it healthy", "it is no worse than stable"),
            item("unhealthy", worse, "min", f"to catch a {seq.R_MAX:g}x regression",
                 f"it is {seq.R_MAX:g}x worse than stable")]


def judge_canary(ev: Evidence, limits: Thresholds, health_checks_passing: bool, relative: bool = True) -> Judgement:
    """The canary's verdict from everything observed since its health checks.

    Unhealthy: some statement against it is established (error rate or slow requests credibly above the
    stable's, or above the SLO, or turned worse late), or its health checks fail. Healthy: both metrics
    are shown to be less than r_max times the stable's. Otherwise inconclusive, with how much more
    traffic each verdict needs. Without `relative` (a rollback, which returns to a version known before
    and possibly worse than the one it leaves) only the absolute thresholds can make it unhealthy.
    """
    cmp, new, base = ev.comparison, ev.new, ev.base
    kinds = RELATIVE if relative else ("slo",)
    errors_ok, errors_verdict = _metric_state(cmp, "errors", kinds)
    latency_ok, latency_verdict = _metric_state(cmp, "slow", kinds)
    if not ev.latency_counted and latency_ok is not False:
        latency_ok, latency_verdict = None, "not counted"
    readings = [
        MetricReading(
            name="Error Rate", unit="%", value=new.error_rate_percent, threshold=limits.error_rate_percent,
            baseline=base.error_rate_percent, ok=errors_ok, verdict=errors_verdict, series=list(new.error_series),
            detail=f"stable {fmt_percent(base.error_rate_percent)}, {new.requests:,} canary requests",
        ),
        MetricReading(
            name="Latency (p99)", unit="ms", value=new.p99_ms, threshold=limits.p99_latency_ms,
            baseline=ev.reference_ms, ok=latency_ok, verdict=latency_verdict, series=list(new.p99_series),
            detail=(f"{fmt_percent(new.slow_percent)} slower than {fmt_ms(ev.reference_ms)}"
                    f" (stable {fmt_percent(base.slow_percent)})") if ev.latency_counted
            else "slow requests not reported: latency is not judged",
        ),
        MetricReading(
            name="Health Checks", unit="", value=None, ok=health_checks_passing,
            verdict="Passing" if health_checks_passing else "Failing",
        ),
    ]
    reasons = _canary_reasons(ev, limits, relative)
    if not health_checks_passing:
        reasons.append("Canary health checks are failing")
    if reasons:
        return Judgement("unhealthy", reasons, readings, [], new.requests)
    healthy = cmp.crossed["errors_fine"] and (cmp.crossed["slow_fine"] or not ev.latency_counted)
    if healthy and ev.latency_counted:
        return Judgement("healthy", [], readings, [], new.requests)
    more = _more(ev)
    if healthy:  # errors shown fine, latency not counted: no verdict on latency is possible
        more = [m for m in more if m.verdict == "unhealthy"]
    return Judgement("inconclusive", [], readings, more, new.requests)


def no_data(judgement: Judgement, seconds: float, limits: Thresholds) -> Judgement:
    """Too few canary requests to say anything: inconclusive, and never a pass."""
    reason = (f"Only {judgement.canary_requests} requests reached the canary in {seconds:.0f}s"
              f" (at least {limits.min_requests} needed): no data is not a pass")
    for reading in judgement.readings[:2]:
        reading.ok, reading.verdict = None, "no data"
    return Judgement("inconclusive", [reason], judgement.readings, judgement.more, judgement.canary_requests)


def verdict_lines(judgement: Judgement, observed_seconds: float) -> list[str]:
    """What the approval request says about the canary, beyond its readings."""
    head = f"Verdict: {judgement.verdict} after {span_of(observed_seconds)} ({judgement.canary_requests:,} canary requests)"
    if judgement.verdict != "inconclusive":
        return [head]
    return [head] + more_sentences(judgement.more) + ["Approving before a verdict is an override, recorded as one"]





# --- post-deploy validation -----------------------------------------------------------------------

def _trend(before: float | None, after: float | None) -> str:
    if before is None or after is None:
        return "no data"
    if after < before * 0.9:
        return "improved"
    if after > before * 1.1:
        return "degraded"
    return "stable"


def evaluate_validation(ev: Evidence, limits: Thresholds, tasks_healthy: bool,
                        before_rate: float | None, relative: bool = True) -> Judgement:
    """The whole service after the rollout against the same-length window before the deploy, paired
    period by period, with the same tests as the canary (after in the canary's place). Without
    `relative`, only the absolute thresholds count (a rollback may return to a worse, known version)."""
    cmp, after, before = ev.comparison, ev.new, ev.base
    kinds = ("worse", "slo", "change") if relative else ("slo",)
    errors_bad = any(cmp.crossed[f"errors_{k}"] for k in kinds)
    latency_bad = any(cmp.crossed[f"slow_{k}"] for k in kinds)
    reasons = []
    if errors_bad:
        reasons.append(f"Error rate {fmt_percent(before.error_rate_percent)} → {fmt_percent(after.error_rate_percent)}"
                       f" (threshold {fmt_percent(limits.error_rate_percent)})")
    if latency_bad:
        reasons.append(f"Latency p99 {fmt_ms(before.p99_ms)} → {fmt_ms(after.p99_ms)}"
                       f" (threshold {fmt_ms(limits.p99_latency_ms)})")
    rate = ev.requests_per_minute
    rate_ok = rate is not None and (before_rate is None or rate >= 0.5 * before_rate)
    if not rate_ok:
        reasons.append("Request rate dropped by more than half")
    if not tasks_healthy:
        reasons.append("Not all tasks are healthy")

    def verdict(bad: bool, old: float | None, new: float | None) -> str:
        trend = _trend(old, new)
        return "degraded" if bad else ("stable" if trend == "degraded" else trend)

    readings = [
        MetricReading(
            name="Error Rate", unit="%", value=after.error_rate_percent, threshold=limits.error_rate_percent,
            baseline=before.error_rate_percent, ok=not errors_bad,
            verdict=verdict(errors_bad, before.error_rate_percent, after.error_rate_percent),
            series=before_then_after(before.error_series, after.error_series),
        ),
        MetricReading(
            name="Latency p99", unit="ms", value=after.p99_ms, threshold=limits.p99_latency_ms,
            baseline=before.p99_ms, ok=not latency_bad, verdict=verdict(latency_bad, before.p99_ms, after.p99_ms),
            series=before_then_after(before.p99_series, after.p99_series),
        ),
        MetricReading(
            name="Request Rate", unit="/min", value=rate, baseline=before_rate, ok=rate_ok,
            verdict="stable" if rate_ok else "dropped",
            series=before_then_after(before.request_series, after.request_series),
        ),
        MetricReading(
            name="Health Checks", unit="", value=None, ok=tasks_healthy,
            verdict="All passing" if tasks_healthy else "Failing",
        ),
    ]
    return Judgement("unhealthy" if reasons else "healthy", reasons, readings)


def before_then_after(before: list[float], after: list[float]) -> list[float]:
    """A validation sparkline's samples: the last stretch before the deploy, then every one after it, so
    the step at the rollout shows (as the seed's box draws it)."""
    if not after:
        return []
    return before[-max(3, len(after) // 3):] + after


def improvement_lines(before: MetricWindow, after: MetricWindow) -> tuple[list[str], bool]:
    """The summary's lines on what changed after the rollout, and whether every one is an improvement
    (the summary's title says "Improvements" only then). No error in the window after is said as that,
    with its requests: zero errors in five minutes is no "100% reduction"."""
    lines, improved = [], True
    for label, old, new, fmt in (
        ("Error rate", before.error_rate_percent, after.error_rate_percent, fmt_percent),
        ("Latency p99", before.p99_ms, after.p99_ms, fmt_ms),
    ):
        if old is None or new is None or old == 0:
            continue
        change = (old - new) / old * 100
        word = "reduction" if label == "Error rate" else "improvement"
        if label == "Error rate" and after.errors == 0:
            tail = f"no errors in {after.requests:,} requests"
        elif abs(change) < 1:
            tail, improved = "unchanged", False
        elif change > 0:
            tail = f"{change:.0f}% {word}"
        else:
            tail, improved = f"{-change:.0f}% worse", False
        lines.append(f"{label}: {fmt(old)} → {fmt(new)} ({tail})")
    return lines, improved and bool(lines)
