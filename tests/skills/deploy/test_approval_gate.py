"""The approval gate: who may decide, once, before expiry, for the image that was shown."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from memory.identity import Identity
from memory.scratchpad import Scratchpad
from skills import approval as gate
from skills.deploy.liveness import Holder
from tools.config import ApprovalPolicy

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
PRODUCTION = ApprovalPolicy(allow_self_approval=False, risk="high")


@pytest.fixture
def store(tmp_path: Path) -> Scratchpad:
    return Scratchpad.in_dir(tmp_path / "state")


def request(store: Scratchpad, policy: ApprovalPolicy = PRODUCTION):  # type: ignore[no-untyped-def]
    """A pending request of a deploy that runs (in this very process: it holds the deploy lock)."""
    store.acquire_lock("checkout-api/production", Holder.this_process("bob").label, "dep-1", NOW, 90)
    return gate.open_request(store, deployment_id="dep-1", service="checkout-api", environment="production",
                             from_version="1.2.2", to_version="1.2.3", image_digest="sha256:" + "a" * 64,
                             requester="bob", now=NOW, policy=policy)


def test_open_request_is_idempotent(store: Scratchpad) -> None:
    first = request(store)
    assert request(store).id == first.id
    assert first.expires_at == NOW + timedelta(minutes=30)


def test_another_person_approves(store: Scratchpad) -> None:
    decided = gate.decide(store, request(store), "approved", by=Identity(name="alice", via="os"), channel="terminal", now=NOW, policy=PRODUCTION)
    assert decided.status == "approved" and decided.decided_by == "alice" and decided.decided_at == NOW


def test_requester_cannot_approve_own_production_deploy(store: Scratchpad) -> None:
    pending = request(store)
    with pytest.raises(gate.ApprovalError, match="bob requested this production deploy and cannot approve it"):
        gate.decide(store, pending, "approved", by=Identity(name="bob", via="os"), channel="terminal", now=NOW, policy=PRODUCTION)
    assert store.get_approval(pending.id).status == "pending"  # type: ignore[union-attr]


def test_requester_may_withdraw_by_denying(store: Scratchpad) -> None:
    decided = gate.decide(store, request(store), "denied", by=Identity(name="bob", via="os"), channel="terminal", now=NOW, policy=PRODUCTION)
    assert decided.status == "denied"


def test_only_listed_approvers(store: Scratchpad) -> None:
    policy = ApprovalPolicy(approvers=["alice"])
    with pytest.raises(gate.ApprovalError, match="mallory is not an approver"):
        gate.decide(store, request(store, policy), "approved", by=Identity(name="mallory", via="os"), channel="terminal", now=NOW, policy=policy)


def test_terminal_decisions_refused_where_policy_says_slack_only(store: Scratchpad) -> None:
    policy = ApprovalPolicy(terminal=False, slack=True)
    with pytest.raises(gate.ApprovalError, match="does not accept decisions from the terminal"):
        gate.decide(store, request(store, policy), "approved", by=Identity(name="alice", via="os"), channel="terminal", now=NOW, policy=policy)


def test_expired_request_cannot_be_approved(store: Scratchpad) -> None:
    pending = request(store)
    later = NOW + timedelta(minutes=31)
    with pytest.raises(gate.ApprovalError, match="expired"):
        gate.decide(store, pending, "approved", by=Identity(name="alice", via="os"), channel="terminal", now=later, policy=PRODUCTION)
    assert store.get_approval(pending.id).status == "expired"  # type: ignore[union-attr]


def test_first_decision_wins(store: Scratchpad) -> None:
    pending = request(store)
    gate.decide(store, pending, "denied", by=Identity(name="carol", via="os"), channel="terminal", now=NOW, policy=PRODUCTION)
    with pytest.raises(gate.ApprovalError, match="already denied by carol"):
        gate.decide(store, store.get_approval(pending.id), "approved", by=Identity(name="alice", via="os"),  # type: ignore[arg-type]
                    channel="terminal", now=NOW, policy=PRODUCTION)
    # a stale copy of the pending record cannot overwrite the decision either
    with pytest.raises(gate.ApprovalError, match="already denied"):
        gate.decide(store, pending, "approved", by=Identity(name="alice", via="os"), channel="terminal", now=NOW, policy=PRODUCTION)
    assert store.get_approval(pending.id).decided_by == "carol"  # type: ignore[union-attr]


def test_decision_bound_to_the_image_shown(store: Scratchpad) -> None:
    pending = request(store)
    with pytest.raises(gate.ApprovalError, match="This decision was for image"):
        gate.decide(store, pending, "approved", by=Identity(name="alice", via="os"), channel="terminal", now=NOW, policy=PRODUCTION,
                    expected_digest="sha256:" + "b" * 64)
    assert store.get_approval(pending.id).status == "pending"  # type: ignore[union-attr]


@pytest.mark.parametrize("gone", ["released", "dead pid", "expired"])
def test_a_request_whose_deploy_is_gone_is_refused_with_the_resume_hint(store: Scratchpad, gone: str) -> None:
    pending = request(store)
    lock = store.get_lock("checkout-api/production")
    assert lock is not None
    if gone == "released":
        store.release_lock("checkout-api/production", "dep-1")
    elif gone == "dead pid":  # this host, a pid that cannot exist
        store.take_over_lock("checkout-api/production", lock, f"bob@{socket.gethostname()} (pid 999999999)",
                              "dep-1", NOW, 90)
    now = NOW + timedelta(minutes=5) if gone == "expired" else NOW
    for decision in ("approved", "denied"):
        with pytest.raises(gate.ApprovalError, match=r"\(dep-1\) is not running any more.*`runbook resume dep-1`"):
            gate.decide(store, pending, decision, by=Identity(name="alice", via="os"), channel="terminal",  # type: ignore[arg-type]
                        now=now, policy=PRODUCTION)
    assert store.get_approval(pending.id).status == "pending"  # type: ignore[union-attr]


ALICE = Identity(name="alice", via="os")


def _canary(store: Scratchpad, kind: str, verdict: str) -> None:
    store.append_event("dep-1", kind, NOW, {"kind": kind, "verdict": verdict})


def test_approving_while_the_canary_is_inconclusive_is_recorded_as_an_override(store: Scratchpad) -> None:
    pending = request(store)
    _canary(store, "canary_judged", "inconclusive")
    decided = gate.decide(store, pending, "approved", by=ALICE, channel="terminal", now=NOW, policy=PRODUCTION,
                          reason="hotfix for the outage")
    assert gate.is_override(decided)
    assert decided.reason == gate.OVERRIDE_NOTE + " (hotfix for the outage)"


def test_once_the_verdict_is_healthy_approving_is_no_override(store: Scratchpad) -> None:
    pending = request(store)
    _canary(store, "canary_judged", "inconclusive")
    _canary(store, "canary_verdict_changed", "healthy")
    decided = gate.decide(store, pending, "approved", by=ALICE, channel="terminal", now=NOW, policy=PRODUCTION)
    assert not gate.is_override(decided) and decided.reason == ""
    assert gate.canary_verdict(store, "dep-1") == "healthy"


def test_denying_an_inconclusive_canary_is_no_override(store: Scratchpad) -> None:
    pending = request(store)
    _canary(store, "canary_judged", "inconclusive")
    decided = gate.decide(store, pending, "denied", by=ALICE, channel="terminal", now=NOW, policy=PRODUCTION)
    assert not gate.is_override(decided)
