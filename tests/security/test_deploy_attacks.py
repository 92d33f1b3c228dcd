"""Attacks on what a deploy rolls out: the approved bytes, and nothing a dead or expired approval allows.
Each checks the fleet and the request afterwards."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import update

from agent.runtime import open_runtime
from memory._schema import approvals
from memory.identity import Identity
from memory.scratchpad import Scratchpad
from skills import approval as gate
from skills.deploy import DeployRequest, run_deploy
from tests.agent.cli_support import fleet_snapshot, run_cli
from tools.backend import target_for

REPO = "registry.example.com/checkout-api"


def approve_then(runtime, before_approving) -> threading.Thread:  # type: ignore[no-untyped-def]
    """A colleague approves the first pending request; `before_approving` runs just before the click."""
    policy = runtime.config.environment("production")[1].approval
    runtime.store  # noqa: B018 - the database exists before the colleague connects

    def work() -> None:
        with Scratchpad(runtime.database_url) as store:
            for _ in range(1200):
                pending = store.pending_approvals("checkout-api", "production")
                if pending:
                    before_approving()
                    gate.decide(store, pending[0], "approved", by=Identity(name="alice", via="simulated"),
                                channel="terminal", now=runtime.wall.now(), policy=policy)
                    return
                time.sleep(0.05)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def test_the_new_revision_pins_the_checked_image_by_digest() -> None:
    with open_runtime() as runtime:
        image = runtime.backend("production").registry.find_image(REPO, "1.2.3")
        assert image is not None
        thread = approve_then(runtime, lambda: None)
        code = run_deploy(runtime, DeployRequest(service="checkout-api", version="1.2.3", environment="production",
                                                 requester="dev"), lambda event: None)
        thread.join(timeout=60)
        running = runtime.backend("production").platform.current_task_definition(
            target_for(runtime.config, "checkout-api", "production"))
    assert code == 0
    assert running.image == f"{REPO}:1.2.3@{image.digest}"


def test_a_tag_pushed_again_after_the_approval_stops_the_deploy_before_the_rollout() -> None:
    before = fleet_snapshot()
    with open_runtime() as runtime:
        fleet = runtime.backend("production").platform.fleet  # type: ignore[attr-defined]
        thread = approve_then(runtime, lambda: fleet.push_image(REPO, "1.2.3", build="someone else's"))
        events: list = []  # type: ignore[type-arg]
        code = run_deploy(runtime, DeployRequest(service="checkout-api", version="1.2.3", environment="production",
                                                 requester="dev"), events.append)
        thread.join(timeout=60)
    assert code == 5
    finished = events[-1]
    assert finished.outcome == "image_changed" and "pushed again after the approval" in " ".join(finished.observations)
    after = fleet_snapshot()
    assert after["version"] == before["version"] == "1.2.2" and after["canary"] == []
    assert not [e for e in events if e.kind == "rollout_progress"]


def test_a_request_that_expired_while_its_deploy_was_dead_never_rolls_out() -> None:
    from tests.agent.deploy_processes import killed_deploy

    dead = killed_deploy("Waiting for approval")
    with Scratchpad.in_dir(Path(".runbook")) as store:
        request = store.approval_for_deployment(dead)
        assert request is not None
        with store._write() as conn:  # noqa: SLF001 - its 30 minutes pass while nobody runs it
            conn.execute(update(approvals).where(approvals.c.id == request.id).values(expires_at=request.requested_at))
    result = run_cli("resume", dead)
    assert result.exit_code == 5, result.output
    assert "APPROVAL EXPIRED" in result.output
    assert fleet_snapshot()["version"] == "1.2.2" and fleet_snapshot()["canary"] == []


def test_an_approval_older_than_the_canarys_evidence_is_judged_again_on_resume() -> None:
    from datetime import timedelta

    from tests.agent.deploy_processes import killed_deploy
    from tools.sandbox.state_db import DatabaseFleetStore

    dead = killed_deploy("Waiting for approval", version="1.2.9")  # fine for ten minutes, then 5x the errors
    with Scratchpad.in_dir(Path(".runbook")) as store:
        request = store.approval_for_deployment(dead)
        assert request is not None
        # alice approved while it still ran, just before its process died; then 20 minutes passed
        store.decide_approval(request.id, "approved", "alice", request.requested_at, reason="", channel="terminal",
                              via="simulated")
        with DatabaseFleetStore(store).transaction() as fleet:
            fleet.virtual_now += timedelta(minutes=20)
    result = run_cli("resume", dead)
    assert result.exit_code == 4, result.output
    assert "canary degraded since the approval (judged again on resume)" in result.output
    assert fleet_snapshot()["version"] == "1.2.2" and fleet_snapshot()["canary"] == []
