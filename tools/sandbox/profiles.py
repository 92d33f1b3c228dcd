"""How each version of each sandbox service behaves under traffic: error rate, p99, error messages.

A profile may depend on the share of the service's traffic the version carries (checkout-api 1.2.4
is fine as a small canary and falls over once it serves most requests) or on how long the version
has been running (1.2.9 is fine for ten minutes, then fails five times as often). Every request's
latency is drawn from a lognormal with sigma `LATENCY_SIGMA` whose 99th percentile is the profile's
p99, so a p99 read from ten requests is as noisy as a real one.
"""

from __future__ import annotations

from dataclasses import dataclass

LATENCY_SIGMA = 0.6  # lognormal shape: the p99 is ~4x the median


@dataclass(frozen=True)
class VersionProfile:
    error_percent: float
    p99_ms: float
    messages: tuple[str, ...]
    # Under load: from `degrade_from` share on, errors and latency move towards the degraded
    # figures, reaching them at `degrade_full` share.
    degraded_error_percent: float | None = None
    degraded_p99_ms: float | None = None
    degraded_messages: tuple[str, ...] = ()
    degrade_from: float = 0.2
    degrade_full: float = 0.5
    # With time: once the version has run `late_after_seconds`, errors and latency jump to the late figures.
    late_after_seconds: float | None = None
    late_error_percent: float | None = None
    late_p99_ms: float | None = None

    def degradation(self, share: float, age_seconds: float | None = None) -> float:
        """0 (fine) to 1 (fully degraded) for a version carrying `share` of the traffic."""
        if self.is_late(age_seconds):
            return 1.0 if self.degraded_messages else 0.0
        if self.degraded_error_percent is None or share <= self.degrade_from:
            return 0.0
        return min(1.0, (share - self.degrade_from) / (self.degrade_full - self.degrade_from))

    def is_late(self, age_seconds: float | None) -> bool:
        return self.late_after_seconds is not None and age_seconds is not None and age_seconds >= self.late_after_seconds

    def error_fraction(self, share: float, age_seconds: float | None = None) -> float:
        if self.is_late(age_seconds) and self.late_error_percent is not None:
            return self.late_error_percent / 100.0
        d = self.degradation(share)
        degraded = (
            self.degraded_error_percent if self.degraded_error_percent is not None else self.error_percent
        )
        return ((1 - d) * self.error_percent + d * degraded) / 100.0

    def p99(self, share: float, age_seconds: float | None = None) -> float:
        if self.is_late(age_seconds) and self.late_p99_ms is not None:
            return self.late_p99_ms
        d = self.degradation(share)
        degraded = self.degraded_p99_ms if self.degraded_p99_ms is not None else self.p99_ms
        return (1 - d) * self.p99_ms + d * degraded


_CHECKOUT_USUAL = (
    "upstream timeout calling inventory-api after 3000ms",
    "payment authorization declined by payments-api: 502 Bad Gateway",
    "cart validation failed: item sku no longer available",
)
_MEMORY = (
    "OutOfMemoryError: Java heap space",
    "request queue full, rejecting request",
    "GC overhead limit exceeded while serializing order",
)

# Versions not listed here behave like their service's baseline.
_BASELINES: dict[str, VersionProfile] = {
    "checkout-api": VersionProfile(0.25, 150.0, _CHECKOUT_USUAL),
    "payments-api": VersionProfile(
        0.2, 210.0, ("card processor returned 503, retrying", "idempotency key conflict for charge request")
    ),
    "inventory-api": VersionProfile(
        0.1, 95.0, ("stock reservation conflict, retry exhausted", "read replica lag above 5s, query aborted")
    ),
    "notifications-worker": VersionProfile(
        0.3,
        420.0,
        ("SMTP relay rejected message: 451 try again later", "push provider returned 429 Too Many Requests"),
    ),
    "generic": VersionProfile(
        0.2, 120.0, ("unhandled exception in request handler", "upstream request timed out")
    ),
}

_LEAK = (
    "ConnectionPool exhausted: could not acquire connection to payments-db within 2000ms",
    "too many open files: connection to payments-api refused",
)

_VERSIONS: dict[tuple[str, str], VersionProfile] = {
    # The stable version runs close to the 1% error limit, where a fixed-window rule misfires.
    ("checkout-api", "1.2.2"): VersionProfile(0.9, 180.0, _CHECKOUT_USUAL),
    ("checkout-api", "1.2.3"): VersionProfile(0.03, 142.0, _CHECKOUT_USUAL[1:]),
    ("checkout-api", "1.2.4"): VersionProfile(
        0.05,
        150.0,
        _CHECKOUT_USUAL[1:],
        degraded_error_percent=5.2,
        degraded_p99_ms=2300.0,
        degraded_messages=_MEMORY,
    ),
    ("checkout-api", "1.2.5"): VersionProfile(
        5.0,
        2300.0,
        (
            "ConnectionPool exhausted: could not acquire connection to payments-db within 2000ms",
            "ConnectionPool exhausted: could not acquire connection to payments-db within 2000ms",
            "request timed out after 2000ms waiting for a database connection",
        ),
    ),
    # Near the thresholds (deploy them from 1.2.2): as good as 1.2.2, twice its errors, twice its p99,
    # and fine for ten minutes before failing five times as often (a leak).
    ("checkout-api", "1.2.6"): VersionProfile(0.9, 180.0, _CHECKOUT_USUAL),
    ("checkout-api", "1.2.7"): VersionProfile(1.8, 180.0, _CHECKOUT_USUAL),
    ("checkout-api", "1.2.8"): VersionProfile(0.9, 360.0, _CHECKOUT_USUAL),
    ("checkout-api", "1.2.9"): VersionProfile(
        0.9, 180.0, _CHECKOUT_USUAL, degraded_messages=_LEAK, late_after_seconds=600.0, late_error_percent=4.5,
    ),
    # The production incident the seed starts with: card processor retries leak into 5xx responses.
    ("payments-api", "3.4.1"): VersionProfile(
        3.4,
        380.0,
        (
            "card processor timeout after 1500ms, returning 504 to caller",
            "retry budget exhausted for charge request, returning 503",
            "card processor returned 503, retrying",
        ),
    ),
}


def profile_for(kind: str, version: str) -> VersionProfile:
    return _VERSIONS.get((kind, version)) or _BASELINES.get(kind) or _BASELINES["generic"]
