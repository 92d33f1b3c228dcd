"""Approvals: bound to a deployment, decided once — the first decision wins, even across processes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from memory.records import ApprovalRecord
from memory.scratchpad import Scratchpad

MakeApproval = Callable[..., ApprovalRecord]


def test_approval_round_trip(pad: Scratchpad, make_approval: MakeApproval) -> None:
    record = make_approval(channel="slack", from_version=None)
    pad.create_approval(record)
    assert pad.get_approval("apr-1") == record
    assert pad.get_approval("apr-missing") is None
    assert pad.approval_for_deployment("dep-1") == record
    assert pad.approval_for_deployment("dep-2") is None


def test_approval_for_deployment_is_the_latest_request(pad: Scratchpad, make_approval: MakeApproval) -> None:
    pad.create_approval(make_approval("apr-1", minutes=0))
    pad.create_approval(make_approval("apr-2", minutes=5))
    latest = pad.approval_for_deployment("dep-1")
    assert latest is not None and latest.id == "apr-2"


def test_pending_approvals_filters(pad: Scratchpad, make_approval: MakeApproval, t0: datetime) -> None:
    pad.create_approval(make_approval("apr-1", "dep-1", minutes=2))
    pad.create_approval(make_approval("apr-2", "dep-2", minutes=1, environment="staging"))
    pad.create_approval(make_approval("apr-3", "dep-3", minutes=3, service="search-api"))
    pad.create_approval(make_approval("apr-4", "dep-4", minutes=0))
    pad.decide_approval("apr-4", "denied", "bob", t0)

    assert [a.id for a in pad.pending_approvals()] == ["apr-2", "apr-1", "apr-3"]
    assert [a.id for a in pad.pending_approvals(service="checkout-api")] == ["apr-2", "apr-1"]
    assert [a.id for a in pad.pending_approvals(environment="production")] == ["apr-1", "apr-3"]
    assert [a.id for a in pad.pending_approvals("checkout-api", "staging")] == ["apr-2"]


def test_first_decision_wins_and_a_second_is_a_no_op(
    pad: Scratchpad, make_approval: MakeApproval, t0: datetime
) -> None:
    pad.create_approval(make_approval())
    at = t0 + timedelta(minutes=3)
    record, won = pad.decide_approval(
        "apr-1", "approved", "alice", at, reason="looks good", channel="terminal"
    )
    assert won
    assert (record.status, record.decided_by, record.decided_at, record.reason, record.channel) == (
        "approved",
        "alice",
        at,
        "looks good",
        "terminal",
    )

    again, won_again = pad.decide_approval(
        "apr-1", "denied", "mallory", at + timedelta(minutes=1), "no", "slack"
    )
    assert not won_again
    assert again == record
    assert pad.get_approval("apr-1") == record
    assert pad.pending_approvals() == []


@pytest.mark.parametrize("status", ["expired", "aborted"])
def test_decisions_without_a_person(
    pad: Scratchpad, make_approval: MakeApproval, t0: datetime, status: str
) -> None:
    pad.create_approval(make_approval())
    record, won = pad.decide_approval("apr-1", status, None, t0 + timedelta(minutes=30))
    assert won and record.status == status and record.decided_by is None


def test_decision_errors(pad: Scratchpad, make_approval: MakeApproval, t0: datetime) -> None:
    pad.create_approval(make_approval())
    with pytest.raises(ValueError, match="not a decision"):
        pad.decide_approval("apr-1", "pending", "alice", t0)
    with pytest.raises(ValueError, match="not a decision"):
        pad.decide_approval("apr-1", "yes please", "alice", t0)
    with pytest.raises(KeyError):
        pad.decide_approval("apr-missing", "approved", "alice", t0)
    stored = pad.get_approval("apr-1")
    assert stored is not None and stored.status == "pending"


def test_set_approval_message(pad: Scratchpad, make_approval: MakeApproval, t0: datetime) -> None:
    pad.create_approval(make_approval())
    pad.set_approval_message("apr-1", "C0DEPLOYS", "1764170000.000100")
    pad.decide_approval("apr-1", "approved", "alice", t0)
    stored = pad.get_approval("apr-1")
    assert stored is not None
    assert (stored.slack_channel, stored.slack_ts, stored.status) == (
        "C0DEPLOYS",
        "1764170000.000100",
        "approved",
    )
    with pytest.raises(KeyError):
        pad.set_approval_message("apr-missing", "C0DEPLOYS", "1.2")


RACE_DECIDE = """
from datetime import UTC, datetime

def RACE(pad, name):
    status = "approved" if name[-1] in "02468" else "denied"
    record, won = pad.decide_approval("apr-1", status, name, datetime.now(UTC), reason="by " + name)
    return {"won": won, "decided_by": record.decided_by, "status": record.status}
"""


def test_two_processes_deciding_concurrently_exactly_one_wins(
    pad: Scratchpad,
    make_approval: MakeApproval,
    race: Callable[[str, str, int], list[dict[str, Any]]],
) -> None:
    pad.create_approval(make_approval())
    results = race(pad.url, RACE_DECIDE, 6)

    winners = [r for r in results if r["won"]]
    assert len(winners) == 1
    stored = pad.get_approval("apr-1")
    assert stored is not None and stored.status != "pending"
    # Everybody, winner or not, saw the same stored decision: the winner's.
    assert {(r["decided_by"], r["status"]) for r in results} == {(stored.decided_by, stored.status)}
    assert stored.reason == f"by {stored.decided_by}"
