"""Helpers: run the real deploy skill on the sandbox, with a person approving from another thread, or
(`deploy_approved_after`) approving after a wait while the canary judge keeps judging."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from agent.runtime import Runtime, runtime_for
from memory.identity import Identity
from memory.scratchpad import Scratchpad
from skills import approval as gate
from skills.deploy import DeployRequest, run_deploy


def approve_from_thread(runtime: Runtime, service: str, environment: str, approver: str = "alice") -> threading.Thread:
    """A colleague who approves the first pending request for service/environment, through the gate,
    with a store connection of their own."""
    policy = runtime.config.environment(environment)[1].approval
    runtime.store  # noqa: B018 - opens (creates) the database before the colleague connects to it

    def work() -> None:
        store = Scratchpad(runtime.database_url)
        try:
            for _ in range(600):
                pending = store.pending_approvals(service, environment)
                if pending:
                    gate.decide(store, pending[0], "approved", by=Identity(name=approver, via="simulated"), channel="terminal",
                                now=runtime.wall.now(), policy=policy)
                    return
                time.sleep(0.05)
        finally:
            store.close()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def deploy_with_approval(runtime: Runtime, version: str, service: str = "checkout-api",
                         environment: str = "production", requester: str = "dev") -> int:
    thread = approve_from_thread(runtime, service, environment)
    request = DeployRequest(service=service, version=version, environment=environment, requester=requester)
    code = run_deploy(runtime, request, lambda event: None)
    thread.join(timeout=30)
    return code


@dataclass
class JudgedRun:
    """How one sandbox deploy ended when its approver waited before approving."""

    version: str
    seed: int
    exit_code: int
    outcome: str
    ended_in: str  # "canary step", "approval wait", "validation", "" (succeeded)
    override: bool  # approved while the canary was still inconclusive
    verdict_at_approval: str | None  # the canary's verdict when the approval came (None: none came)
    minutes_to_unhealthy: float | None  # world minutes from the end of the health checks, if judged unhealthy
    minutes_to_healthy: float | None = None  # likewise, if judged healthy
    observations: tuple[str, ...] = ()  # the summary's observations (why it failed)


NEAR_THRESHOLD = {"1.2.6": "healthy", "1.2.7": "2x errors", "1.2.8": "2x p99", "1.2.9": "5x errors after 10 min"}


def deploy_approved_after(workdir: Path, version: str, seed: int, wait_minutes: float = 30.0) -> JudgedRun:
    """Deploy checkout-api `version` to production on a sandbox seeded with `seed` (instant time), the
    approver saying yes once `wait_minutes` of the world's time have passed since the request, unless the
    canary is judged unhealthy first. The canary judge keeps judging throughout, as in a real wait."""
    from skills.deploy import approval_step
    from skills.events import (
        ApprovalDecided,
        ApprovalRequested,
        CanaryJudged,
        CanaryVerdictChanged,
        DeployFinished,
        Event,
        MetricsObserved,
    )
    from tools.config_files import read_config

    workdir.mkdir(parents=True, exist_ok=True)
    data = yaml.safe_load(resources.files("tools.sandbox").joinpath("default_config.yaml").read_text())
    data["sandbox"]["seed"] = seed
    data["environments"]["production"]["approval"].update(
        # expiry runs on wall time: 5 min is ample for a 30 min world-time wait on instant time, and ends a
        # run whose approval would be refused rather than letting it hang
        slack=False, terminal=True, allow_self_approval=True, expires_after_seconds=300)
    (workdir / "runbook.yaml").write_text(yaml.safe_dump(data))
    # dev requests and (self-approval allowed here) approves: one of the sandbox's simulated approvers
    environ = dict(os.environ) | {"RUNBOOK_TIME_SCALE": "0", "RUNBOOK_KNOWLEDGE_ENABLED": "false",
                                  "RUNBOOK_USER": "dev"}
    environ.pop("RUNBOOK_CONFIG", None)
    seen: dict[str, object] = {}
    verdict: list[str] = []
    step: list[int] = [0]

    def sink(event: Event) -> None:
        if isinstance(event, ApprovalRequested):
            seen["requested"] = event.at
        if isinstance(event, CanaryJudged | CanaryVerdictChanged):
            verdict.append(event.verdict)
        if isinstance(event, MetricsObserved) and event.phase != "validation" and event.verdict in (
                "unhealthy", "healthy"):
            seen.setdefault(f"{event.verdict}_after", event.elapsed_seconds / 60)
        if isinstance(event, ApprovalDecided):
            seen["decided"] = event
        if isinstance(event, DeployFinished):
            seen["finished"] = event
        if getattr(event, "kind", "") == "step_started":
            step[0] = event.number  # type: ignore[union-attr]
        seen["now"] = event.at

    def approver(question: str, wait_seconds: float) -> str | None:
        requested, now = seen.get("requested"), seen.get("now")
        if requested is None or now is None:
            return None
        waited = (now - requested).total_seconds() / 60  # type: ignore[operator]
        if waited >= wait_minutes:
            seen.setdefault("verdict_at_approval", verdict[-1] if verdict else None)
            return "approved"
        return None

    saved = (approval_step.MIN_POLL_WALL_SECONDS, approval_step.POLL_SECONDS)
    approval_step.MIN_POLL_WALL_SECONDS, approval_step.POLL_SECONDS = 0.0, 10.0  # alone: nobody needs room
    try:
        config = read_config(workdir / "runbook.yaml", environ=environ, cwd=workdir)
        with runtime_for(config, environ) as runtime:
            request = DeployRequest(service="checkout-api", version=version, environment="production",
                                    requester="dev")
            code = run_deploy(runtime, request, sink, terminal_prompt=approver)
    finally:
        approval_step.MIN_POLL_WALL_SECONDS, approval_step.POLL_SECONDS = saved
    finished = seen.get("finished")
    decided = seen.get("decided")
    outcome = str(getattr(finished, "outcome", "unknown"))
    ended_in = "" if code == 0 else {3: "canary step", 4: "approval wait", 5: "rollout", 6: "validation"}.get(
        step[0], f"step {step[0]}")
    return JudgedRun(version, seed, code, outcome, ended_in, bool(getattr(decided, "override", False)),
                     seen.get("verdict_at_approval"), seen.get("unhealthy_after"),  # type: ignore[arg-type]
                     seen.get("healthy_after"), tuple(getattr(finished, "observations", ())))  # type: ignore[arg-type]
