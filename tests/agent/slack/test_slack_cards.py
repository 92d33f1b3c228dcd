"""The approval card says the canary's verdict; while it is inconclusive, Approve is an explicit override."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from memory.scratchpad import Scratchpad
from tools import slack_cards

NOW = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)


def card(**extra: object) -> slack_cards.ApprovalCard:
    return slack_cards.ApprovalCard(
        request_id="apr-1", deployment_id="dep-1", operation="Deploy checkout-api v1.2.3 to 100%", risk="high",
        environment="production", service="checkout-api", from_version="1.2.2", to_version="1.2.3",
        image_digest="sha256:" + "a" * 64, requester="bob", rollback_command="runbook deploy checkout-api --version 1.2.2",
        expires_at=NOW, canary_summary=["Verdict: inconclusive after 60s (100 canary requests)"], **extra)


def buttons(blocks: list[dict]) -> list[str]:  # type: ignore[type-arg]
    return [e["text"]["text"] for b in blocks if b.get("type") == "actions" for e in b["elements"]]


def test_an_inconclusive_canary_makes_approve_an_override() -> None:
    blocks = slack_cards.request_blocks(card(canary_verdict="inconclusive"))
    assert buttons(blocks) == ["✅ Approve anyway (override)", "❌ Deny"]
    assert "recorded as an override" in json.dumps(blocks, ensure_ascii=False)
    healthy = slack_cards.request_blocks(card(canary_verdict="healthy"))
    assert buttons(healthy) == ["✅ Approve", "❌ Deny"] and "override" not in json.dumps(healthy)
    # once decided there are no buttons, whatever the verdict
    assert buttons(slack_cards.request_blocks(card(canary_verdict="inconclusive"), outcome="✅ *Approved*")) == []


def test_the_card_is_rebuilt_with_the_verdict_as_it_stands(tmp_path: Path) -> None:
    store = Scratchpad.in_dir(tmp_path)
    try:
        posted = card(canary_verdict="inconclusive").model_dump(mode="json") | {"kind": "approval_requested"}
        store.append_event("dep-1", "approval_requested", NOW, posted)
        assert slack_cards.card_for_deployment(store, "dep-1", "apr-1").canary_verdict == "inconclusive"  # type: ignore[union-attr]
        store.append_event("dep-1", "canary_verdict_changed", NOW, {
            "kind": "canary_verdict_changed", "verdict": "healthy", "summary": ["Verdict: healthy after 6 min"]})
        rebuilt = slack_cards.card_for_deployment(store, "dep-1", "apr-1")
        assert rebuilt is not None and rebuilt.canary_verdict == "healthy"
        assert rebuilt.canary_summary == ["Verdict: healthy after 6 min"]
    finally:
        store.close()
