"""Helpers for end-to-end CLI tests: run `runbook` in-process or as a colleague in another process,
and read the sandbox fleet the way any command would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from agent.cli import app
from agent.runtime import open_runtime
from tools.backend import Backend, target_for

RUNBOOK = [sys.executable, "-c", "from agent.cli import main; main()"]


def run_cli(*args: str) -> Any:
    """`runbook ARGS` in this process (stdout is not a TTY: plain output)."""
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def json_document(*args: str) -> Any:
    """`runbook -o json ARGS`'s one JSON document (stdout only: notes go to stderr)."""
    import json

    result = run_cli("-o", "json", *args)
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.output
    return json.loads(lines[0])


def json_lines(*args: str) -> list[Any]:
    """`runbook -o json ARGS`'s JSON lines (a streaming command's events)."""
    import json

    return [json.loads(line) for line in run_cli("-o", "json", *args).stdout.splitlines()]


def recorded_deployments() -> list[dict[str, Any]]:
    """The scratchpad's deployments as `runbook history -o json` lists them, newest first."""
    return list(json_document("history")["deployments"])


def colleague(*args: str, user: str = "alice", cwd: Path | None = None) -> subprocess.Popen[str]:
    """`runbook ARGS` as another person, in another process (as a second shell would)."""
    return subprocess.Popen(
        RUNBOOK + list(args), cwd=cwd or Path.cwd(), env=os.environ | {"RUNBOOK_USER": user},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


@contextmanager
def deciding(decision: str, user: str = "alice", service: str = "checkout-api", environment: str = "production",
             *extra: str) -> Iterator[subprocess.Popen[str]]:
    """A colleague who will `runbook approve`/`deny` the next request for the service, from another process."""
    process = colleague(decision, "--service", service, "--environment", environment, "--wait", "60", *extra,
                        user=user)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=10)


def fleet_snapshot(service: str = "checkout-api", environment: str = "production") -> dict[str, Any]:
    """What a user could observe of one service: used to prove that nothing changed."""
    with open_runtime() as runtime:
        backend = runtime.backend(environment)
        target = target_for(runtime.config, service, environment)
        status = backend.platform.describe_service(target)
        return {
            "version": status.version,
            "task_definition": status.task_definition,
            "tasks": sorted((t.task_id, t.version, t.status) for t in status.tasks),
            "canary": backend.platform.list_canaries(target),
            "revision": backend.platform.current_task_definition(target).revision,
        }


@contextmanager
def sandbox_fleet() -> Iterator[Backend]:
    """The sandbox's test helpers (set_alarm, set_secret_readable, ...), on the fleet commands here use."""
    with open_runtime() as runtime:
        yield runtime.backend(runtime.config.default_environment or "production")


def canary_degrades_while_waiting(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Stand-in for metrics that turn bad after the canary step, while nobody has decided yet: from its
    first look during the approval wait, the judge sees a canary at 10% errors and 2.3 s p99 beside a
    stable at 0.5%. (The sandbox's 1.2.9 really degrades late: see tests/skills/test_sandbox_judge.py.)"""
    from skills.deploy import approval_step
    from skills.deploy.evidence import Evidence
    from skills.deploy.judge import judge_canary
    from tools.models import MetricPoint

    def degraded(ctx, watch, healthy=True):  # type: ignore[no-untyped-def]
        limits, ref = ctx.thresholds, watch.plan.reference_ms or 180.0
        evidence = Evidence.start(ctx.config.judge.alpha, watch.plan.horizon_points, limits.error_rate_percent,
                                  limits.p99_latency_ms, ref)
        at = watch.plan.since
        for _ in range(6):
            bad = MetricPoint(timestamp=at, requests=20, errors=2, p99_ms=2300,
                              slow_requests={ref: 18, limits.p99_latency_ms: 16})
            good = MetricPoint(timestamp=at, requests=180, errors=1, p99_ms=180,
                               slow_requests={ref: 2, limits.p99_latency_ms: 0})
            evidence.add(bad, good, 10)
        return judge_canary(evidence, limits, True)

    monkeypatch.setattr(approval_step, "judge_now", degraded)
