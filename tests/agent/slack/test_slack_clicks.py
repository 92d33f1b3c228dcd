"""Approve/Deny clicks sent to the bot over HTTP as Slack signs them; the Web API is the local stand-in."""

from __future__ import annotations

import copy
import json
import threading
import time

from tests.agent.slack.conftest import USERS, SlackWorld, wait_until
from tools import slack_cards
from tools.slack_standin import StandinMessage, action_payload, click, post_signed


def has_buttons(message: StandinMessage) -> bool:
    return any(block.get("type") == "actions" for block in message.blocks)


def card_text(message: StandinMessage) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


def test_the_card_carries_the_request_and_binds_its_buttons(slack_world: SlackWorld) -> None:
    record, message = slack_world.open_request()
    text = card_text(message)
    for expected in ("Deploy checkout-api v1.2.3 to 100%", "HIGH", "production", "1.2.2 → 1.2.3", record.image_digest,
                     "Error rate: 0.02%", "Image: 1.2.2 → 1.2.3", "runbook deploy checkout-api --version 1.2.2"):
        assert expected in text
    values = [slack_cards.ButtonValue.decode(e["value"]) for b in message.blocks if b["type"] == "actions"
              for e in b["elements"]]
    bound = slack_cards.ButtonValue(request_id=record.id, deployment_id=record.deployment_id,
                                    image_digest=record.image_digest)
    assert values == [bound, bound]


def test_approve_records_the_decision_and_updates_the_card(slack_world: SlackWorld) -> None:
    record, message = slack_world.open_request()
    status, _ = slack_world.click(message, "alice")
    assert status == 200
    assert wait_until(lambda: message.updates == 1)
    stored = slack_world.approval(record.id)
    assert (stored.status, stored.decided_by, stored.channel) == ("approved", "alice", "slack")
    assert not has_buttons(message)
    assert f"Approved* by <@{USERS['alice']}> at {stored.decided_at:%H:%M} UTC" in card_text(message)
    assert "xoxb-" not in json.dumps([c.params for c in slack_world.standin.calls])


def test_deny_records_the_decision_and_updates_the_card(slack_world: SlackWorld) -> None:
    record, message = slack_world.open_request()
    assert slack_world.click(message, "carol", slack_cards.DENY_ACTION)[0] == 200
    assert wait_until(lambda: message.updates == 1)
    assert slack_world.approval(record.id).status == "denied"
    assert "Denied* by <@U0CAROL001>" in card_text(message) and not has_buttons(message)


def test_a_user_who_is_not_an_approver_is_refused_and_nothing_changes(slack_world: SlackWorld) -> None:
    record, message = slack_world.open_request()
    assert slack_world.click(message, "mallory")[0] == 200
    assert wait_until(lambda: bool(slack_world.ephemeral_texts("mallory")))
    assert "not an approver for production" in slack_world.ephemeral_texts("mallory")[0]
    assert slack_world.approval(record.id).status == "pending"
    assert message.updates == 0 and has_buttons(message)


def test_the_requester_cannot_approve_their_own_production_deploy(slack_world: SlackWorld) -> None:
    record, message = slack_world.open_request(requester="dev")
    assert slack_world.click(message, "dev")[0] == 200
    assert wait_until(lambda: bool(slack_world.ephemeral_texts("dev")))
    assert "You requested this production deploy and cannot approve it" in slack_world.ephemeral_texts("dev")[0]
    assert slack_world.approval(record.id).status == "pending" and message.updates == 0


def test_the_requester_is_found_by_email_when_not_mapped(slack_world: SlackWorld) -> None:
    slack_world.config.slack.users.pop("dev")
    slack_world.config.slack.email_domain = "example.com"
    record, message = slack_world.open_request(requester="dev")
    slack_world.click(message, "dev")
    assert wait_until(lambda: bool(slack_world.ephemeral_texts("dev")))
    assert "cannot approve it" in slack_world.ephemeral_texts("dev")[0]
    assert slack_world.approval(record.id).status == "pending"


def test_bad_signature_edited_body_and_stale_or_future_timestamps_are_401(slack_world: SlackWorld) -> None:
    record, message = slack_world.open_request()
    payload = action_payload(message, slack_cards.APPROVE_ACTION, USERS["alice"], "alice")
    assert click(slack_world.bot_url, "not-the-secret", payload)[0] == 401
    assert click(slack_world.bot_url, slack_world.secret, payload, timestamp=int(time.time()) - 600)[0] == 401
    assert click(slack_world.bot_url, slack_world.secret, payload, timestamp=int(time.time()) + 600)[0] == 401
    # A body signed, then edited in transit (the clicker swapped to an approver):
    from urllib.parse import urlencode

    from tools.slack_standin import signed_headers

    body = urlencode({"payload": json.dumps(payload)})
    edited = body.replace(USERS["alice"], USERS["carol"])
    headers = signed_headers(body, slack_world.secret)
    status, _ = post_signed(slack_world.bot_url, edited, "ignored", "application/x-www-form-urlencoded",
                            extra_headers=headers)
    assert status == 401
    time.sleep(0.2)
    assert slack_world.approval(record.id).status == "pending"
    assert message.updates == 0 and slack_world.standin.ephemeral == []


def test_a_second_click_changes_nothing(slack_world: SlackWorld) -> None:
    record, message = slack_world.open_request()
    as_first_seen = copy.deepcopy(message)  # a double click lands before Slack redraws the card
    slack_world.click(message, "alice")
    assert wait_until(lambda: slack_world.approval(record.id).status == "approved")
    slack_world.click(as_first_seen, "alice")
    slack_world.click(as_first_seen, "carol", slack_cards.DENY_ACTION)
    assert wait_until(lambda: len(slack_world.standin.ephemeral) == 2)
    assert "already approved by alice" in slack_world.ephemeral_texts("carol")[0]
    stored = slack_world.approval(record.id)
    assert (stored.status, stored.decided_by) == ("approved", "alice") and message.updates == 1


def test_two_concurrent_clicks_one_wins(slack_world: SlackWorld) -> None:
    record, message = slack_world.open_request()
    seen = copy.deepcopy(message)  # the card as both saw it, buttons and all (the first click removes them)
    clicks = [threading.Thread(target=slack_world.click, args=(seen, "alice")),
              threading.Thread(target=slack_world.click, args=(seen, "carol", slack_cards.DENY_ACTION))]
    for thread in clicks:
        thread.start()
    for thread in clicks:
        thread.join()
    assert wait_until(lambda: message.updates == 1 and len(slack_world.standin.ephemeral) == 1)
    stored = slack_world.approval(record.id)
    winner = {"approved": "alice", "denied": "carol"}[stored.status]
    loser = "carol" if winner == "alice" else "alice"
    assert stored.decided_by == winner and slack_world.ephemeral_texts(loser)
    assert f"by <@{USERS[winner]}>" in card_text(message)


def test_an_expired_request_is_marked_on_its_card(slack_world: SlackWorld) -> None:
    record, message = slack_world.open_request(expires_in=1)
    time.sleep(1.1)
    slack_world.click(message, "alice")
    assert wait_until(lambda: bool(slack_world.ephemeral_texts("alice")))
    assert "expired" in slack_world.ephemeral_texts("alice")[0]
    assert slack_world.approval(record.id).status == "expired"
    assert wait_until(lambda: message.updates == 1)
    assert "Expired*" in card_text(message) and not has_buttons(message)


def test_a_card_of_another_deploy_cannot_approve_a_new_one(slack_world: SlackWorld) -> None:
    old, old_card = slack_world.open_request(deployment_id="dep-old0000001")
    old_card_in_a_stale_client = copy.deepcopy(old_card)
    slack_world.click(old_card, "carol", slack_cards.DENY_ACTION)
    assert wait_until(lambda: slack_world.approval(old.id).status == "denied")
    new, new_card = slack_world.open_request(deployment_id="dep-new0000001", digest="sha256:" + "cd" * 32)
    slack_world.click(old_card_in_a_stale_client, "alice")
    # A forged click: the new card's request, with the old deploy's id or the old image's digest.
    for deployment_id, digest in ((old.deployment_id, new.image_digest), (new.deployment_id, old.image_digest)):
        payload = action_payload(new_card, slack_cards.APPROVE_ACTION, USERS["alice"], "alice")
        payload["actions"][0]["value"] = slack_cards.ButtonValue(
            request_id=new.id, deployment_id=deployment_id, image_digest=digest).encode()
        assert click(slack_world.bot_url, slack_world.secret, payload)[0] == 200
    assert wait_until(lambda: len(slack_world.ephemeral_texts("alice")) == 3)
    texts = slack_world.ephemeral_texts("alice")
    assert any("already denied" in t for t in texts) and any("image" in t for t in texts)
    assert slack_world.approval(new.id).status == "pending" and new_card.updates == 0
