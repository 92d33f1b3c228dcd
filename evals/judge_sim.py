"""Simulated canary traffic and the four judges the benchmark compares, vectorised over runs (numpy).

Traffic (as in the measurements the judge was designed on): per 10 s point the canary gets
Poisson(20) requests and the stable Poisson(180); errors are binomial; every request's latency is
lognormal with sigma 0.6 (median 37 ms gives a p99 of 150 ms). The stable's pre-deploy p99, the
reference for "slow", is estimated from 5 minutes of stable traffic before the canary starts.

Judges, all fed the same points:
* `new`: `skills.deploy.sequential.Comparison`, the code the deploy runs (run here on numpy arrays).
* `wilson`: the judge runbook had before: Wilson lower bound (z = 2.326) of the canary's error rate
  against 1 % and stable + 1 point, request-weighted mean of per-point p99s against 500 ms and
  stable x 1.5, after 60 s; then re-judged every 30 s on the last 60 s during the approval wait.
* `seed`: the reference output's fixed rule, once after 60 s: error rate < 1 %, p99 < 500 ms.
* `sprt`: Wald's SPRT on the canary's errors given the stable's true rate p0, p0 against 2 p0
  (for latency scenarios: the share of requests slower than the reference, 1 % against 2 %),
  at the same α as the new judge's statement on that metric and β = 5 %.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from statistics import NormalDist

import numpy as np

from skills.deploy import sequential as seq

POINT_SECONDS = 10
CANARY_PER_POINT, STABLE_PER_POINT = 20.0, 180.0
SIGMA = 0.6
Z99 = 2.3263478740408408
PRE_DEPLOY_REQUESTS = 5 * 60 * STABLE_PER_POINT / POINT_SECONDS
ERROR_LIMIT, P99_LIMIT_MS = 0.01, 500.0
CAP_C, CAP_S = 56, 250

NUMPY = seq.Ops(np.log, np.exp, np.logaddexp, np.clip)
_NORMAL = NormalDist()


@dataclass(frozen=True)
class Scenario:
    name: str
    stable_error: float
    canary_error: float
    stable_p99: float = 150.0
    canary_p99: float = 150.0
    late_after_points: int | None = None  # canary equal to stable until then, then as given
    minutes: float = 30.0


@dataclass
class Result:
    scenario: Scenario
    runs: int
    alpha: float
    # first point (1-based) at which each judge said unhealthy / healthy; 0: never within the horizon
    new_unhealthy: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    new_healthy: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    wilson_unhealthy: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    seed_unhealthy: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    sprt_unhealthy: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    sprt_stop: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    canary_requests: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0)))
    predicted_at_60s: dict[str, list[float | None]] = field(default_factory=dict)

    def rate_by(self, judge: str, seconds: float) -> float:
        """Share of runs this judge had called unhealthy by `seconds` after the canary's metrics started."""
        first = getattr(self, f"{judge}_unhealthy")
        limit = int(seconds // POINT_SECONDS)
        return float(np.mean((first > 0) & (first <= limit)))

    def mean_seconds(self, judge: str) -> float | None:
        first = getattr(self, f"{judge}_unhealthy")
        hit = first[first > 0]
        return None if not len(hit) else float(hit.mean() * POINT_SECONDS)

    def requests_until(self, first: np.ndarray) -> np.ndarray:
        """Canary requests each run had served when its verdict came (NaN: none within the horizon)."""
        out = np.full(len(first), np.nan)
        hit = first > 0
        out[hit] = self.canary_requests[np.nonzero(hit)[0], first[hit] - 1]
        return out


def _p99_of(z: np.ndarray, n: np.ndarray, mu: float | np.ndarray) -> np.ndarray:
    """Nearest-rank p99 of each row's first n latencies (z: standard normals, masked rows at -inf)."""
    top = -np.partition(-z, 2, axis=1)[:, :3]
    top.sort(axis=1)
    top = top[:, ::-1]
    offset = np.clip(n - np.ceil(0.99 * n).astype(int), 0, 2)
    chosen = top[np.arange(len(n)), offset]
    out = np.exp(mu + SIGMA * chosen)
    out[n == 0] = np.nan
    return out


def _latencies(rng: np.random.Generator, n: np.ndarray, cap: int) -> np.ndarray:
    z = rng.standard_normal((len(n), cap))
    z[np.arange(cap)[None, :] >= n[:, None]] = -np.inf
    return z


def _wilson_low(errors: np.ndarray, n: np.ndarray, z: float = 2.326) -> np.ndarray:
    safe = np.maximum(n, 1)
    p = errors / safe
    centre = p + z * z / (2 * safe)
    spread = z * np.sqrt(p * (1 - p) / safe + z * z / (4 * safe * safe))
    return np.maximum(0.0, (centre - spread) / (1 + z * z / safe))


def simulate(scenario: Scenario, runs: int, alpha: float = 0.05, seed: int = 0,
             predict_at_seconds: float = 60.0, with_latency: bool = True) -> Result:
    """Run `runs` canaries of `scenario` through every judge. Without latency, requests have no sampled
    latencies (slow counts are drawn directly) and the Wilson and seed judges are not run: for long horizons."""
    rng = np.random.default_rng(seed)
    points = int(scenario.minutes * 60 // POINT_SECONDS) + 6  # the 60 s canary, then the wait
    mu_s = math.log(scenario.stable_p99) - Z99 * SIGMA
    mu_c_bad = math.log(scenario.canary_p99) - Z99 * SIGMA
    # The reference: the stable's p99 as measured before the deploy (its true tail share is ~1 % ± noise).
    tail = np.clip(rng.normal(0.01, math.sqrt(0.0099 / PRE_DEPLOY_REQUESTS), runs), 1e-4, 0.5)
    z_ref = np.array([_NORMAL.inv_cdf(1 - t) for t in tail]) + mu_s / SIGMA
    z_limit = (math.log(P99_LIMIT_MS)) / SIGMA

    slow_bad = _above(z_ref - mu_c_bad / SIGMA)  # the canary's true share above the reference
    over_good, over_bad = (float(_above(np.array([z_limit - mu / SIGMA]))[0]) for mu in (mu_s, mu_c_bad))
    canary_alpha = alpha * seq.DECISION_SHARES["canary"]  # as the deploy does: the rest is validation's
    judge = seq.Comparison(alpha=canary_alpha, horizon_points=points, error_limit=ERROR_LIMIT, slow_limit=0.01)
    healthy_first = np.zeros(runs, dtype=int)
    unhealthy_first = np.zeros(runs, dtype=int)
    wilson_first = np.zeros(runs, dtype=int)
    seed_first = np.zeros(runs, dtype=int)
    sprt_first = np.zeros(runs, dtype=int)
    sprt_stop = np.zeros(runs, dtype=int)
    # SPRT, given the stable's true rates
    latency_case = scenario.canary_p99 != scenario.stable_p99
    sprt_alpha = canary_alpha * seq.ALPHA_SHARES["slow_worse" if latency_case else "errors_worse"]
    upper, lower = math.log(0.95 / sprt_alpha), math.log(0.05 / (1 - sprt_alpha))
    p0 = tail if latency_case else np.full(runs, scenario.stable_error)  # the stable's true rate
    p1 = 2 * p0
    sprt_llr = np.zeros(runs)
    history: list[tuple[np.ndarray, ...]] = []  # per point: canary n, errors, p99; stable n, errors, p99
    served = np.zeros((runs, points), dtype=np.float32)
    predicted: dict[str, list[float | None]] = {"worse": [], "fine": []}

    for b in range(points):
        late = scenario.late_after_points is not None and b < scenario.late_after_points
        p_c = scenario.stable_error if late else scenario.canary_error
        mu_c = mu_s if late else mu_c_bad
        n_c = np.minimum(rng.poisson(CANARY_PER_POINT, runs), CAP_C)
        n_s = np.minimum(rng.poisson(STABLE_PER_POINT, runs), CAP_S)
        k_c = rng.binomial(n_c, p_c)
        k_s = rng.binomial(n_s, scenario.stable_error)
        if with_latency:
            z_c = _latencies(rng, n_c, CAP_C)
            z_s = _latencies(rng, n_s, CAP_S)
            # "slower than the reference": latency > exp(SIGMA * z_ref)  <=>  z > z_ref - mu / SIGMA
            slow_c = np.sum(z_c > (z_ref - mu_c / SIGMA)[:, None], axis=1)
            slow_s = np.sum(z_s > (z_ref - mu_s / SIGMA)[:, None], axis=1)
            over_c = np.sum(z_c > z_limit - mu_c / SIGMA, axis=1)
            over_s = np.sum(z_s > z_limit - mu_s / SIGMA, axis=1)
            p99_c, p99_s = _p99_of(z_c, n_c, mu_c), _p99_of(z_s, n_s, mu_s)
        else:
            slow_c = rng.binomial(n_c, tail if late else slow_bad)
            slow_s = rng.binomial(n_s, tail)
            over_c = rng.binomial(n_c, over_good if late else over_bad)
            over_s = rng.binomial(n_s, over_good)
            p99_c = p99_s = np.full(runs, np.nan)
        served[:, b] = (served[:, b - 1] if b else 0) + n_c

        judge.add(seq.Counts(n_c, k_c, slow_c, over_c), seq.Counts(n_s, k_s, slow_s, over_s), NUMPY)
        unhealthy = np.asarray(judge.unhealthy())
        healthy = np.asarray(judge.healthy())
        unhealthy_first[(unhealthy_first == 0) & unhealthy] = b + 1
        healthy_first[(healthy_first == 0) & healthy & ~unhealthy] = b + 1

        history.append((n_c, k_c, p99_c, n_s, k_s, p99_s))
        del history[:-6]
        elapsed = (b + 1) * POINT_SECONDS
        if with_latency and elapsed >= 60 and (elapsed == 60 or elapsed % 30 == 0):
            bad = _old_judge(history[-6:])
            if elapsed == 60:
                bad |= np.sum([h[0] for h in history[-6:]], axis=0) < 20  # inconclusive never passed
                seed_first[_seed_rule(history[-6:])] = b + 1
            wilson_first[(wilson_first == 0) & bad] = b + 1

        k_sprt, n_sprt = (slow_c, n_c) if latency_case else (k_c, n_c)
        active = sprt_stop == 0
        sprt_llr = np.where(active, sprt_llr + k_sprt * np.log(p1 / p0)
                            + (n_sprt - k_sprt) * np.log((1 - p1) / (1 - p0)), sprt_llr)
        sprt_first[active & (sprt_llr >= upper)] = b + 1
        sprt_stop[active & ((sprt_llr >= upper) | (sprt_llr <= lower))] = b + 1

        if elapsed == predict_at_seconds:
            predicted = _predictions(judge, runs)

    result = Result(scenario, runs, alpha, unhealthy_first, healthy_first, wilson_first, seed_first,
                    sprt_first, sprt_stop, served, predicted)
    return result


def _above(z: np.ndarray) -> np.ndarray:
    """P(a standard normal exceeds z), elementwise."""
    return np.array([1 - _NORMAL.cdf(v) for v in np.atleast_1d(z)])


def _old_judge(window: list[tuple[np.ndarray, ...]]) -> np.ndarray:
    n_c = np.sum([h[0] for h in window], axis=0)
    k_c = np.sum([h[1] for h in window], axis=0)
    n_s = np.sum([h[3] for h in window], axis=0)
    k_s = np.sum([h[4] for h in window], axis=0)
    low = _wilson_low(k_c, n_c)
    stable_rate = k_s / np.maximum(n_s, 1)
    bad = (low > ERROR_LIMIT) | (low > stable_rate + 0.01)
    p99_c = _weighted_p99([(h[2], h[0]) for h in window])
    p99_s = _weighted_p99([(h[5], h[3]) for h in window])
    return bad | (p99_c > P99_LIMIT_MS) | (p99_c > p99_s * 1.5)


def _seed_rule(window: list[tuple[np.ndarray, ...]]) -> np.ndarray:
    n_c = np.sum([h[0] for h in window], axis=0)
    k_c = np.sum([h[1] for h in window], axis=0)
    rate = k_c / np.maximum(n_c, 1)
    p99_c = _weighted_p99([(h[2], h[0]) for h in window])
    return (rate >= ERROR_LIMIT) | (p99_c >= P99_LIMIT_MS)


def _weighted_p99(parts: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    values = np.array([np.nan_to_num(p, nan=0.0) * n for p, n in parts]).sum(axis=0)
    weights = np.array([n for _, n in parts]).sum(axis=0)
    return values / np.maximum(weights, 1)


def _predictions(judge: seq.Comparison, runs: int) -> dict[str, list[float | None]]:
    """"N more canary requests" per run, as the deploy would compute it (scalar code, run by run)."""
    out: dict[str, list[float | None]] = {"worse": [], "fine": []}
    err = judge.errors
    for i in range(runs):
        one = seq.ShareEvidence(
            log_lr={r: float(v[i]) for r, v in err.log_lr.items()},
            log_sr={r: float(v[i]) for r, v in err.log_sr.items()}, grid=err.grid, r_max=err.r_max,
            canary_requests=float(err.canary_requests[i]), canary_events=float(err.canary_events[i]),
            stable_requests=float(err.stable_requests[i]), stable_events=float(err.stable_events[i]),
            points=err.points,
        )
        out["worse"].append(seq.more_requests_share(one, "worse", judge.threshold("errors_worse")))
        out["fine"].append(seq.more_requests_share(one, "fine", judge.threshold("errors_fine")))
    return out
