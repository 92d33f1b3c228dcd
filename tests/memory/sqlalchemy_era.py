"""The history in ``fixtures/state-sqlalchemy/runbook.db``: every kind of row the store writes, with
values that test the on-disk formats (microseconds, a zone other than UTC, None, nested and unicode
JSON, floats, a store-wide event seq).

That file was written by the store built on SQLAlchemy (commit d080467), running this module as a
script with that commit's ``memory`` first on the path::

    PYTHONPATH=<checkout of d080467> python tests/memory/sqlalchemy_era.py <folder>

Only the public Scratchpad API is used, so the same ``write_history`` run by today's store must give
the same rows, byte for byte (see test_sqlalchemy_era.py).
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from memory.records import ApprovalRecord, DeploymentRecord, InvestigationRecord

PLUS_TWO = timezone(timedelta(hours=2))
T0 = datetime(2026, 12, 1, 10, 15, 30, 123456, tzinfo=PLUS_TWO)  # 08:15:30.123456 UTC
FLEET = '{"services": {"checkout-api": {"version": "1.2.3"}}, "seed": 7}'


def deployment(**fields: Any) -> DeploymentRecord:
    values: dict[str, Any] = {
        "id": "dep-a1", "service": "checkout-api", "environment": "production", "from_version": "1.2.2",
        "to_version": "1.2.3", "requester": "bob", "requester_via": "os", "started_at": T0,
    }
    return DeploymentRecord(**(values | fields))


def write_history(pad: Any) -> None:
    """What the fixture holds, written through the store's own methods."""
    pad.record_deployment(deployment(image_digest="sha256:" + "ab" * 32, metrics_before={
        "error_rate_percent": 0.5408146019942538, "p99_ms": None}))
    pad.update_deployment("dep-a1", status="succeeded", approver="alice", ended_at=T0 + timedelta(minutes=7, microseconds=1),
                          from_revision=41, to_revision=42, metrics_after={"error_rate_percent": 0.1, "requests": 5917.0},
                          detail="all checks passed ✓")
    pad.record_deployment(deployment(id="dep-b2", to_version="1.2.4", started_at=T0 + timedelta(hours=1),
                                     kind="rollback", status="running"))
    pad.record_deployment(deployment(id="dep-c3", service="search-api", environment="staging",
                                     started_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=PLUS_TWO), status="checks_failed"))
    for n, (dep, kind) in enumerate([("dep-a1", "deploy_started"), ("dep-b2", "step_started"),
                                     ("dep-a1", "check_passed")]):
        pad.append_event(dep, kind, T0 + timedelta(seconds=n, microseconds=n * 7),
                         {"n": n, "nested": {"ok": [1, 2.5, None, True]}, "text": "naïve café"})
    pad.create_approval(ApprovalRecord(
        id="apr-1", deployment_id="dep-a1", service="checkout-api", environment="production", from_version="1.2.2",
        to_version="1.2.3", image_digest="sha256:" + "ab" * 32, requester="bob", requester_via="os",
        requested_at=T0 + timedelta(seconds=30), expires_at=T0 + timedelta(minutes=30, seconds=30)))
    pad.decide_approval("apr-1", "approved", "alice", T0 + timedelta(minutes=2, microseconds=999999),
                        reason="looks good", channel="slack", via="slack")
    pad.set_approval_message("apr-1", "C0123", "1764578130.000100")
    pad.create_approval(ApprovalRecord(
        id="apr-2", deployment_id="dep-b2", service="checkout-api", environment="production", from_version=None,
        to_version="1.2.4", image_digest="sha256:" + "cd" * 32, requester="bob",
        requested_at=T0 + timedelta(hours=1), expires_at=T0 + timedelta(hours=1, minutes=30)))
    pad.acquire_lock("checkout-api/production", "bob@laptop (pid 4242)", "dep-b2", T0 + timedelta(hours=1), 600,
                     host="laptop", pid=4242, boot_id="b00t-1")
    pad.acquire_lock("search-api/staging", "carol@ci", "dep-c3", T0, 60)
    pad.record_investigation(InvestigationRecord(
        id="inv-1", service="checkout-api", environment="production", question="why are 5xx up?",
        started_at=T0 + timedelta(minutes=9), window_start=T0 - timedelta(hours=1), window_end=T0,
        summary="bad deploy", findings={"suspect": "dep-a1", "scores": [0.5, 0.9], "counts": {"500": 547}}))
    pad.record_investigation(InvestigationRecord(
        id="inv-2", service="search-api", environment=None, question="slow?", started_at=T0,
        window_start=None, window_end=None, summary="", findings={}))
    pad.replace_fleet(FLEET)


if __name__ == "__main__":
    from memory.database import open_store
    from memory.engines import dispose_engines

    folder = Path(sys.argv[1])
    with open_store(f"sqlite:///{folder.resolve() / 'runbook.db'}") as store:
        write_history(store)
    dispose_engines()
