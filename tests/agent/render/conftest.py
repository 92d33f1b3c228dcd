"""Hand-built event sequences of the deploy skill: the seed's success, and the ways a deploy ends early."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from skills.events import (
    ApprovalDecided,
    ApprovalRequested,
    CanaryJudged,
    CheckFailed,
    CheckPassed,
    ConfigChange,
    DeployFinished,
    DeployStarted,
    Event,
    HealthCheckResult,
    MetricReading,
    MetricsObserved,
    Progress,
    RollbackFinished,
    RollbackStarted,
    RolloutProgress,
    StepFinished,
    StepStarted,
    TaskDefinitionDiff,
)

T0 = datetime(2024, 1, 15, 15, 0, tzinfo=UTC)
ID = "dep-7f3a"
ROLLBACK = "runbook deploy checkout-api --version 1.2.2"


def _ev(cls, **fields):  # every event of a run carries the deployment id and a time
    return cls(deployment_id=ID, at=T0, **fields)


def start(dry_run: bool = False, auto_rollback: bool = False) -> list[Event]:
    return [_ev(DeployStarted, service="checkout-api", environment="production", version="1.2.3",
                requester="dev", total_steps=6, dry_run=dry_run, auto_rollback=auto_rollback)]


def prechecks() -> list[Event]:
    checks = [
        ("service", "Checking service exists...", "Service found: checkout-api (ECS, prod cluster)", []),
        ("current_version", "Checking current version...", "Current version: 1.2.2",
         ["Running: 4 tasks, all healthy", "Last deployed: 2024-01-14 10:30 UTC"]),
        ("image", "Checking target image...", "Image exists: registry.example.com/checkout-api:1.2.3",
         ["Pushed: 2024-01-15 09:00 UTC", "Size: 245 MB", "Digest: sha256:abc123..."]),
        ("incidents", "Checking for incidents...", "No active incidents affecting checkout-api", []),
        ("lock", "Checking for ongoing deployments...", "No deployments in progress", []),
        ("rollback_target", "Checking rollback availability...", "Rollback target: 1.2.2 (healthy)", []),
    ]
    events: list[Event] = [_ev(StepStarted, number=1, total=6, title="Pre-deployment Checks")]
    for check, progress, message, details in checks:
        events.append(_ev(Progress, message=progress))
        events.append(_ev(CheckPassed, check=check, message=message, details=details))
    return events + [_ev(StepFinished, number=1, ok=True, message="All pre-deployment checks passed")]


def config() -> list[Event]:
    return [
        _ev(StepStarted, number=2, total=6, title="Validate Configuration"),
        _ev(Progress, message="Comparing configurations..."),
        _ev(TaskDefinitionDiff, changes=[
            ConfigChange(field="Image", before="1.2.2", after="1.2.3"),
            ConfigChange(field="Memory", before="512 MB", after="512 MB"),
            ConfigChange(field="CPU", before="256 units", after="256 units"),
            ConfigChange(field="Environment", before="", after=""),
        ]),
        _ev(Progress, message="Checking environment variables..."),
        _ev(CheckPassed, check="env", message="All required env vars present"),
        _ev(StepFinished, number=2, ok=True, message="Configuration validated"),
    ]


def canary_readings(errors: float = 0.02, p99: float = 145.0, ok: bool = True) -> list[MetricReading]:
    return [
        MetricReading(name="Error Rate", unit="%", value=errors, threshold=1.0, baseline=0.03, ok=ok,
                      series=[errors] * 30),
        MetricReading(name="Latency (p99)", unit="ms", value=p99, threshold=500.0, baseline=150.0, ok=ok,
                      series=[p99] * 30),
        MetricReading(name="Health Checks", unit="", value=None, ok=True, verdict="Passing"),
    ]


def canary(healthy: bool = True) -> list[Event]:
    events: list[Event] = [
        _ev(StepStarted, number=3, total=6, title="Canary Deployment (10%)"),
        _ev(Progress, message="Creating new task definition..."),
        _ev(CheckPassed, check="task_definition", message="Task definition: checkout-api:45"),
        _ev(Progress, message="Performing health checks..."),
    ]
    events += [_ev(HealthCheckResult, index=i, total=3, healthy=True) for i in (1, 2, 3)]
    events.append(_ev(Progress, message="Observing metrics (60s)..."))
    errors = 0.02 if healthy else 5.2
    for second in range(5, 60, 5):  # every 5 s: plain shows at most three of these
        events.append(_ev(MetricsObserved, phase="canary", elapsed_seconds=second, window_seconds=60,
                          readings=canary_readings(errors, ok=healthy)))
    events.append(_ev(MetricsObserved, phase="canary", elapsed_seconds=60, window_seconds=60, final=True,
                      readings=canary_readings(errors, ok=healthy)))
    if healthy:
        return events + [
            _ev(CanaryJudged, verdict="healthy", observed_seconds=60),
            _ev(StepFinished, number=3, ok=True, message="Canary healthy after 60s observation"),
        ]
    return events + [
        _ev(CanaryJudged, verdict="unhealthy", observed_seconds=60,
            reasons=["Error rate 5.2% is above the 1% threshold"]),
        _ev(StepFinished, number=3, ok=False, message="Canary unhealthy after 60s observation"),
    ]


def approval(decision: str = "approved", by: str = "alice", reason: str = "") -> list[Event]:
    return [
        _ev(StepStarted, number=4, total=6, title="Request Approval"),
        _ev(ApprovalRequested, request_id="apr-1", operation="Deploy checkout-api v1.2.3 to 100%",
            risk="high", environment="production", service="checkout-api", from_version="1.2.2",
            to_version="1.2.3",
            image_digest="sha256:abc123", requester="dev",
            canary_summary=["Error rate: 0.02% (threshold: 1%) ✓", "Latency p99: 145ms (threshold: 500ms) ✓",
                            "Health checks: Passing ✓"],
            changes=["Image: 1.2.2 → 1.2.3", "No config changes"], rollback_command=ROLLBACK,
            expires_at=T0 + timedelta(minutes=40), channels=["slack:#runbook-approvals", "terminal"],
            how_to_decide=["To decide, an approver other than dev runs:", f"  runbook approve {ID}"]),
        _ev(MetricsObserved, phase="approval_wait", elapsed_seconds=60, window_seconds=60,
            readings=canary_readings()),
        _ev(ApprovalDecided, request_id="apr-1", decision=decision, by=by, reason=reason,
            decided_at=T0 + timedelta(minutes=10)),
    ]


def rollout() -> list[Event]:
    events: list[Event] = [
        _ev(StepStarted, number=5, total=6, title="Full Rollout"),
        _ev(Progress, message="Updating service to v1.2.3..."),
    ]
    counts = [(10, 0), (10, 0), (8, 2), (8, 2), (5, 5), (2, 8), (0, 10)]
    for i, (old, new) in enumerate(counts):
        state = "COMPLETED" if i == len(counts) - 1 else "IN_PROGRESS"
        events.append(_ev(RolloutProgress, desired=10, new_running=new, old_running=old,
                          elapsed_seconds=272 * i / (len(counts) - 1), state=state))
    return events + [
        _ev(CheckPassed, check="stable", message="All 10 tasks healthy"),
        _ev(StepFinished, number=5, ok=True, message="Full rollout complete"),
    ]


def validation(healthy: bool = True) -> list[Event]:
    after_errors, after_p99 = (0.03, 142.0) if healthy else (5.2, 2300.0)
    verdict = "improved" if healthy else "degraded"
    readings = [
        MetricReading(name="Error Rate", unit="%", value=after_errors, threshold=1.0, baseline=0.5,
                      ok=healthy, verdict=verdict, series=[0.5] * 7 + [after_errors] * 17),
        MetricReading(name="Latency p99", unit="ms", value=after_p99, threshold=500.0, baseline=180.0,
                      ok=healthy, verdict=verdict, series=[180.0] * 5 + [after_p99] * 19),
        MetricReading(name="Request Rate", unit="/min", value=1200.0, baseline=1190.0, ok=True,
                      verdict="stable", series=[1200.0] * 24),
        MetricReading(name="Health Checks", unit="", value=None, ok=True, verdict="All passing"),
    ]
    return [
        _ev(StepStarted, number=6, total=6, title="Post-deployment Validation"),
        _ev(Progress, message="Monitoring for 5 minutes..."),
        _ev(MetricsObserved, phase="validation", elapsed_seconds=150, window_seconds=300, readings=readings),
        _ev(MetricsObserved, phase="validation", elapsed_seconds=300, window_seconds=300, readings=readings,
            final=True),
        _ev(StepFinished, number=6, ok=healthy,
            message="Post-deployment validation passed" if healthy else "Post-deployment validation failed"),
    ]


def finished(outcome: str, headline: str, **fields) -> list[Event]:
    defaults = dict(exit_code=0 if outcome in ("succeeded", "dry_run") else 1, service="checkout-api",
                    environment="production", from_version="1.2.2", to_version="1.2.3")
    return [_ev(DeployFinished, outcome=outcome, headline=headline, **(defaults | fields))]


@pytest.fixture
def success() -> list[Event]:
    return start() + prechecks() + config() + canary() + approval() + rollout() + validation() + finished(
        "succeeded", "DEPLOYMENT SUCCESSFUL", duration_seconds=514, tasks=10, rollback_command=ROLLBACK,
        observations=["Error rate: 0.5% → 0.03% (94% reduction)",
                      "Latency p99: 180ms → 142ms (21% improvement)"], observations_title="Improvements Observed:",
    )


@pytest.fixture
def canary_failure() -> list[Event]:
    return start() + prechecks() + config() + canary(healthy=False) + finished(
        "canary_failed", "CANARY FAILED — DEPLOYMENT ABORTED", duration_seconds=95,
        observations=["Error rate 5.2% is above the 1% threshold"],
        next_steps=['runbook ask "Show errors for checkout-api last 10 minutes"'],
    )


@pytest.fixture
def validation_rollback() -> list[Event]:
    happy = prechecks() + config() + canary() + approval() + rollout()
    return start(auto_rollback=True) + happy + validation(healthy=False) + [
        _ev(RollbackStarted, from_version="1.2.3", to_version="1.2.2", reason="Error rate 0.5% → 5.2%"),
        _ev(Progress, message="Updating service..."),
        _ev(RollbackFinished, from_version="1.2.3", to_version="1.2.2", ok=True),
    ] + finished("validation_failed_rolled_back", "DEPLOYMENT VALIDATION FAILED", duration_seconds=700,
                 next_steps=['runbook ask "Show errors for checkout-api last 10 minutes"'])


@pytest.fixture
def denial() -> list[Event]:
    denied = approval("denied", "bob", "not during the sale")
    return start() + prechecks() + config() + canary() + denied + finished(
        "denied", "DEPLOYMENT DENIED", duration_seconds=700)


@pytest.fixture
def dry_run() -> list[Event]:
    return start(dry_run=True) + prechecks() + config() + finished(
        "dry_run", "DRY RUN — NOTHING CHANGED",
        observations=["Canary 1 of 10 tasks for 60s", "Approval by a person"],
        logged=False,
    )


@pytest.fixture
def check_failure() -> list[Event]:
    return start() + [
        _ev(StepStarted, number=1, total=6, title="Pre-deployment Checks"),
        _ev(Progress, message="Checking target image..."),
        _ev(CheckFailed, check="image", message="Image not found: checkout-api:9.9.9",
            details=["Known versions: 1.2.2, 1.2.3"]),
        _ev(StepFinished, number=1, ok=False, message="Pre-deployment checks failed"),
    ] + finished("checks_failed", "PRE-DEPLOYMENT CHECKS FAILED", to_version="9.9.9")
