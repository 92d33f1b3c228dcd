"""Anytime-valid sequential tests for the canary judge: plain arithmetic on counts, no I/O.

Every statistic here is a nonnegative test supermartingale under its null hypothesis, so by Ville's
inequality the chance that it *ever* reaches 1/α is at most α: the verdict may be read after 60 s or
after a 30-minute approval wait, as often as anyone likes, and its error rate stays below α.

* `ShareEvidence` — the canary's share of some event (5xx errors, requests slower than a latency),
  per point b, conditional on the point's event total. With n_c, n_s requests, k canary events out
  of m in total and q = n_c / (n_c + n_s), a canary whose event rate is r times the stable's owns each
  event with probability π(r) = r·q / (r·q + 1 − q). The stable's own rate cancels: an outage that
  hits both versions moves m, not the share. Log-evidence for r against r = 1:
  l_b(r) = k·ln(π/q) + (m − k)·ln((1 − π)/(1 − q)).
  - "worse": the mixture Σ_j w_j exp(Σ_b l_b(r_j)) over r_j > 1 is a test supermartingale when the
    canary is no worse than stable (k given m is hypergeometric, dominated in convex order by
    Binomial(m, q), and a smaller rate only lowers it).
  - "fine": the mirror mixture over r_max / r_j against r_max is one when the canary is at least
    r_max times worse (the binomial family has monotone likelihood ratios in π).
  - "change": a Shiryaev–Roberts detector on the same l_b(r_j), R_b = (1 + R_{b−1})·exp(l_b). R_b + (N − b)
    is a nonnegative supermartingale over a horizon of N points, so P(R reaches N/α within N points) ≤ α
    (`log_threshold` chains horizons for waits longer than planned): a canary that turns bad late is
    caught without first paying back the good evidence it built up.
* `RateEvidence` — a one-sample test that an event rate is above a limit p0 (the SLO checks: error
  rate above 1 %, or more than 1 % of requests slower than the p99 limit), mixing Binomial(n, c·p0)
  against Binomial(n, p0) over c > 1.

Every function takes an `Ops` (the `math` module's by default), so that the benchmark can run the same
code over numpy arrays, one element per simulated canary.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Grid = tuple[tuple[float, float], ...]  # (relative risk r_j, weight w_j), weights summing to 1

# Relative risks the "worse" mixtures bet on. Errors: concentrated on 2x (0.5 % -> 1 %). Slow requests:
# a p99 1.5x / 2x higher moves the share of requests above the old p99 from 1 % to ~5 % / ~12 %.
ERROR_GRID: Grid = ((2.0, 0.8), (3.0, 0.1), (6.0, 0.1))
SLOW_GRID: Grid = ((2.0, 0.3), (4.0, 0.3), (8.0, 0.4))
R_MAX = 2.0  # "healthy": the canary's rate is less than R_MAX times the stable's
RATE_GRID: Grid = ((1.5, 0.25), (2.0, 0.5), (3.0, 0.25))  # SLO: multiples of the limit
_Q_EDGE = 1e-9

# How the configured α is split by a union bound: statement -> share of α. A wrong "unhealthy" needs a
# canary that is no worse than stable on every metric and within the SLOs; a wrong "healthy" needs one
# that is at least r_max times worse on some metric. No canary is both, so each side may spend the whole
# α, split among its own statements: P(the verdict is wrong) <= α whatever the truth.
ALPHA_SHARES: dict[str, float] = {
    "errors_worse": 0.4,
    "slow_worse": 0.05,
    "errors_slo": 0.1,
    "slow_slo": 0.1,
    "errors_change": 0.3,
    "slow_change": 0.05,
    "errors_fine": 0.5,
    "slow_fine": 0.5,
}
# The deploy is one decision with two tests in it: the canary, and post-deploy validation (after vs
# before). The configured α is split between them by the same union bound, so a deploy whose new
# version is no worse is stopped anywhere with probability at most α.
DECISION_SHARES: dict[str, float] = {"canary": 0.8, "validation": 0.2}
UNHEALTHY_STATEMENTS = ("errors_worse", "slow_worse", "errors_slo", "slow_slo", "errors_change", "slow_change")
HEALTHY_STATEMENTS = ("errors_fine", "slow_fine")


def _logaddexp(a: float, b: float) -> float:
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    top = max(a, b)
    return top + math.log1p(math.exp(-abs(a - b)))


@dataclass(frozen=True)
class Ops:
    log: Callable[[Any], Any]
    exp: Callable[[Any], Any]
    logaddexp: Callable[[Any, Any], Any]
    clip: Callable[[Any, float, float], Any]


MATH = Ops(math.log, math.exp, _logaddexp, lambda x, lo, hi: min(max(x, lo), hi))


def _log_mix(terms: list[tuple[float, Any]], ops: Ops) -> Any:
    """ln Σ_j w_j exp(x_j) for (w_j, x_j) pairs."""
    total: Any = -math.inf
    for weight, value in terms:
        total = ops.logaddexp(total, math.log(weight) + value)
    return total


def share_terms(q: Any, r: float, ops: Ops = MATH) -> tuple[Any, Any]:
    """(ln(π/q), ln((1 − π)/(1 − q))) for canary share q and relative risk r."""
    q = ops.clip(q, _Q_EDGE, 1 - _Q_EDGE)
    pi = r * q / (r * q + 1 - q)
    return ops.log(pi / q), ops.log((1 - pi) / (1 - q))


def share_log_lr(k: Any, m: Any, q: Any, r: float, ops: Ops = MATH) -> Any:
    """l_b(r): log-likelihood ratio of relative risk r against 1 for one point."""
    if r == 1.0:
        return 0.0 * q
    own, other = share_terms(q, r, ops)
    return k * own + (m - k) * other


def fine_grid(grid: Grid, r_max: float = R_MAX) -> Grid:
    """The mirror of a "worse" grid: alternatives r_max / r_j below the null r_max."""
    return tuple((r_max / r, w) for r, w in grid)


@dataclass
class ShareEvidence:
    """Cumulative evidence on the canary's share of one kind of event."""

    grid: Grid = ERROR_GRID
    r_max: float = R_MAX
    log_lr: dict[float, Any] = field(default_factory=dict)  # r -> Σ_b l_b(r)
    log_sr: dict[float, Any] = field(default_factory=dict)  # r_j -> ln of its Shiryaev–Roberts statistic
    canary_requests: Any = 0
    canary_events: Any = 0
    stable_requests: Any = 0
    stable_events: Any = 0
    points: int = 0

    def __post_init__(self) -> None:
        self.grid = tuple((float(r), float(w)) for r, w in self.grid)
        risks = {r for r, _ in self.grid} | {r for r, _ in fine_grid(self.grid, self.r_max)} | {self.r_max}
        for r in sorted(risks):
            self.log_lr.setdefault(r, 0.0)
        for r, _ in self.grid:
            self.log_sr.setdefault(r, -math.inf)

    def add(self, canary_requests: Any, canary_events: Any, stable_requests: Any, stable_events: Any,
            ops: Ops = MATH) -> None:
        """One point: the canary's and the stable's requests and events over the same period."""
        total = canary_requests + stable_requests
        q = canary_requests / (total + (total == 0))  # no requests: q = 0 and the point weighs nothing
        m = canary_events + stable_events
        for r in self.log_lr:
            step = share_log_lr(canary_events, m, q, r, ops)
            self.log_lr[r] = self.log_lr[r] + step
            if r in self.log_sr:
                self.log_sr[r] = ops.logaddexp(0.0 * step, self.log_sr[r]) + step
        self.canary_requests = self.canary_requests + canary_requests
        self.canary_events = self.canary_events + canary_events
        self.stable_requests = self.stable_requests + stable_requests
        self.stable_events = self.stable_events + stable_events
        self.points += 1

    def log_worse(self, ops: Ops = MATH) -> Any:
        """ln of the "canary is worse than stable" mixture."""
        return _log_mix([(w, self.log_lr[r]) for r, w in self.grid], ops)

    def log_fine(self, ops: Ops = MATH) -> Any:
        """ln of the "canary is less than r_max times worse" mixture."""
        base = self.log_lr[self.r_max]
        return _log_mix([(w, self.log_lr[r] - base) for r, w in fine_grid(self.grid, self.r_max)], ops)

    def log_change(self, ops: Ops = MATH) -> Any:
        """ln of the Shiryaev–Roberts statistic: "the canary became worse at some point"."""
        return _log_mix([(w, self.log_sr[r]) for r, w in self.grid], ops)

    def to_json(self) -> dict[str, Any]:
        return {"grid": [list(g) for g in self.grid], "r_max": self.r_max,
                "log_lr": [[r, v] for r, v in self.log_lr.items()],
                "log_sr": [[r, None if v == -math.inf else v] for r, v in self.log_sr.items()],
                "canary": [self.canary_requests, self.canary_events],
                "stable": [self.stable_requests, self.stable_events], "points": self.points}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ShareEvidence:
        return cls(
            grid=tuple((r, w) for r, w in data["grid"]), r_max=data["r_max"],
            log_lr={float(r): float(v) for r, v in data["log_lr"]},
            log_sr={float(r): (-math.inf if v is None else float(v)) for r, v in data["log_sr"]},
            canary_requests=data["canary"][0], canary_events=data["canary"][1],
            stable_requests=data["stable"][0], stable_events=data["stable"][1], points=data["points"],
        )


@dataclass
class RateEvidence:
    """Cumulative evidence that an event rate is above `limit` (a fraction): a one-sample SLO check."""

    limit: float
    log_lr: dict[float, Any] = field(default_factory=lambda: {c: 0.0 for c, _ in RATE_GRID})
    requests: Any = 0
    events: Any = 0

    def add(self, requests: Any, events: Any, ops: Ops = MATH) -> None:
        for c in self.log_lr:
            p1 = min(c * self.limit, 1 - 1e-6)
            self.log_lr[c] = self.log_lr[c] + events * math.log(p1 / self.limit) + \
                (requests - events) * math.log((1 - p1) / (1 - self.limit))
        self.requests = self.requests + requests
        self.events = self.events + events

    def log_above(self, ops: Ops = MATH) -> Any:
        return _log_mix([(w, self.log_lr[c]) for c, w in RATE_GRID], ops)

    def to_json(self) -> dict[str, Any]:
        return {"limit": self.limit, "log_lr": {str(c): v for c, v in self.log_lr.items()},
                "requests": self.requests, "events": self.events}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RateEvidence:
        return cls(limit=data["limit"], log_lr={float(c): float(v) for c, v in data["log_lr"].items()},
                   requests=data["requests"], events=data["events"])


def log_threshold(alpha: float, statement: str, horizon_points: int = 1, points: int = 0) -> float:
    """ln of the level a statement's statistic must reach: 1/α_i, or for a change detector N_k/α_k.

    A change detector is planned for `horizon_points` points, but a wait may run longer (an approval
    that expires on people's time while metrics run on a faster clock): epoch k ends at
    N_k = horizon·2^k points and may spend α_i/2^(k+1), so P(a false alarm in epoch k) <= N_k/(N_k/α_k)
    and all epochs together stay within α_i, however long the canary is watched.
    """
    share = alpha * ALPHA_SHARES[statement]
    if not statement.endswith("_change"):
        return math.log(1 / share)
    epoch_end, epoch = max(horizon_points, 1), 0
    while points > epoch_end:
        epoch_end, epoch = epoch_end * 2, epoch + 1
    return math.log(epoch_end * 2 ** (epoch + 1) / share)


# --- how much more evidence a verdict needs -------------------------------------------------------

def _rate(events: float, requests: float) -> float:
    return (events + 0.5) / (requests + 1.0)  # never 0: a side with no events yet still gets a drift


def more_requests_share(ev: ShareEvidence, side: str, threshold: float) -> float | None:
    """About how many more canary requests until `side` ("worse" or "fine") reaches `threshold`.

    The remaining distance divided by the evidence a canary request is expected to add if that side
    is the truth: a canary r_max times worse than stable ("worse": how long until it would be caught)
    or exactly as good ("fine": how long until it is shown healthy), at the stable's observed rate.
    None: no canary traffic yet. 0: already there.
    """
    if ev.canary_requests <= 0:
        return None
    now = ev.log_worse() if side == "worse" else ev.log_fine()
    if now >= threshold:
        return 0.0
    p_s = _rate(ev.stable_events, ev.stable_requests)
    ratio = ev.r_max if side == "worse" else 1.0
    q = ev.canary_requests / max(ev.canary_requests + ev.stable_requests, 1)
    pi = ratio * q / (ratio * q + 1 - q)
    events_per_canary_request = p_s * ratio + p_s * (1 - q) / q
    grid = ev.grid if side == "worse" else fine_grid(ev.grid, ev.r_max)
    base_own, base_other = share_terms(q, ev.r_max) if side == "fine" else (0.0, 0.0)
    base_value = ev.log_lr[ev.r_max] if side == "fine" else 0.0
    best: float | None = None
    for r, w in grid:
        own, other = share_terms(q, r)
        drift = (pi * (own - base_own) + (1 - pi) * (other - base_other)) * events_per_canary_request
        if drift > 0:
            needed = (threshold - math.log(w) - (ev.log_lr[r] - base_value)) / drift
            best = needed if best is None else min(best, needed)
    return None if best is None else max(best, 0.0)


def more_requests_rate(ev: RateEvidence, threshold: float, assumed_multiple: float = 2.0) -> float | None:
    """About how many more requests until the SLO check fires, if the rate were `assumed_multiple` x limit."""
    now = ev.log_above()
    if now >= threshold:
        return 0.0
    p = assumed_multiple * ev.limit
    best: float | None = None
    for c, w in RATE_GRID:
        p1 = min(c * ev.limit, 1 - 1e-6)
        drift = p * math.log(p1 / ev.limit) + (1 - p) * math.log((1 - p1) / (1 - ev.limit))
        if drift > 0:
            needed = (threshold - math.log(w) - ev.log_lr[c]) / drift
            best = needed if best is None else min(best, needed)
    return None if best is None else max(best, 0.0)


# --- one comparison: the statements of a verdict, accumulated point by point ----------------------

@dataclass
class Counts:
    """One version's traffic in one period: requests, 5xx errors, requests slower than the reference
    latency (the stable's pre-deploy p99) and requests slower than the configured p99 limit."""

    requests: Any
    errors: Any
    slow: Any
    over_limit: Any


@dataclass
class Comparison:
    """The canary against the stable (or the service after the rollout against before it), cumulatively.

    `crossed` latches: a statement whose statistic once reached its level stays established (Ville's
    inequality bounds the chance of *ever* reaching it, so nothing is gained by forgetting it).
    """

    alpha: float
    horizon_points: int
    error_limit: float | None = None  # SLO: the error rate (a fraction) the canary must not credibly exceed
    slow_limit: float | None = None  # SLO: the share of requests allowed above the p99 limit (0.01)
    errors: ShareEvidence = field(default_factory=lambda: ShareEvidence(ERROR_GRID))
    slow: ShareEvidence = field(default_factory=lambda: ShareEvidence(SLOW_GRID))
    errors_slo: RateEvidence | None = None
    slow_slo: RateEvidence | None = None
    crossed: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.errors_slo is None and self.error_limit is not None:
            self.errors_slo = RateEvidence(self.error_limit)
        if self.slow_slo is None and self.slow_limit is not None:
            self.slow_slo = RateEvidence(self.slow_limit)
        for name in ALPHA_SHARES:
            self.crossed.setdefault(name, False)

    def add(self, canary: Counts, stable: Counts, ops: Ops = MATH) -> None:
        self.errors.add(canary.requests, canary.errors, stable.requests, stable.errors, ops)
        self.slow.add(canary.requests, canary.slow, stable.requests, stable.slow, ops)
        if self.errors_slo is not None:
            self.errors_slo.add(canary.requests, canary.errors, ops)
        if self.slow_slo is not None:
            self.slow_slo.add(canary.requests, canary.over_limit, ops)
        for name in ALPHA_SHARES:
            value = self.statistic(name, ops)
            if value is not None:
                self.crossed[name] = self.crossed[name] | (value >= self.threshold(name))

    def threshold(self, statement: str) -> float:
        return log_threshold(self.alpha, statement, self.horizon_points, self.errors.points)

    def statistic(self, statement: str, ops: Ops = MATH) -> Any:
        """ln of the statement's statistic, or None when the comparison does not make it (no SLO set)."""
        metric, _, kind = statement.partition("_")
        share = self.errors if metric == "errors" else self.slow
        if kind == "worse":
            return share.log_worse(ops)
        if kind == "fine":
            return share.log_fine(ops)
        if kind == "change":
            return share.log_change(ops)
        rate = self.errors_slo if metric == "errors" else self.slow_slo
        return None if rate is None else rate.log_above(ops)

    def unhealthy(self) -> Any:
        out: Any = False
        for name in UNHEALTHY_STATEMENTS:
            out = out | self.crossed[name]
        return out

    def healthy(self) -> Any:
        out: Any = True
        for name in HEALTHY_STATEMENTS:
            out = out & self.crossed[name]
        return out & ~self.unhealthy() if not isinstance(out, bool) else out and not self.unhealthy()

    def to_json(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha, "horizon_points": self.horizon_points,
            "error_limit": self.error_limit, "slow_limit": self.slow_limit,
            "errors": self.errors.to_json(), "slow": self.slow.to_json(),
            "errors_slo": None if self.errors_slo is None else self.errors_slo.to_json(),
            "slow_slo": None if self.slow_slo is None else self.slow_slo.to_json(),
            "crossed": {name: bool(value) for name, value in self.crossed.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Comparison:
        return cls(
            alpha=data["alpha"], horizon_points=data["horizon_points"],
            error_limit=data["error_limit"], slow_limit=data["slow_limit"],
            errors=ShareEvidence.from_json(data["errors"]), slow=ShareEvidence.from_json(data["slow"]),
            errors_slo=None if data["errors_slo"] is None else RateEvidence.from_json(data["errors_slo"]),
            slow_slo=None if data["slow_slo"] is None else RateEvidence.from_json(data["slow_slo"]),
            crossed=dict(data["crossed"]),
        )
