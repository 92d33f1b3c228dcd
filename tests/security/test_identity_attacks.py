"""Attacks on who asks and who approves: self-declared names, a careless config, spoofed Slack names,
bots, and AWS caller identities (moto's STS). Each checks the request afterwards."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from moto import mock_aws

from memory.identity import Identity
from memory.scratchpad import Scratchpad
from skills import approval as gate
from skills.deploy.liveness import Holder
from tests.agent.cli_support import run_cli
from tests.agent.slack.conftest import SlackWorld, wait_until
from tools.config import ApprovalPolicy, ConfigError, parse_config
from tools.identity import aws_identity, identity_for, os_account
from tools.slack_standin import BOT_USER_ID, action_payload, click

SANDBOX = yaml.safe_load(resources.files("tools.sandbox").joinpath("default_config.yaml").read_text())
NOW = datetime.now(UTC)


def config_with(**production: Any) -> dict[str, Any]:
    data = yaml.safe_load(yaml.safe_dump(SANDBOX))
    data["environments"]["production"].update(production)
    return data


def real_production(**approval: Any) -> dict[str, Any]:
    """Production on ECS (identity os) with the approval policy given."""
    data = config_with(backend="ecs", identity=None, region="eu-west-1")
    del data["environments"]["production"]["identity"]
    data["environments"]["production"]["approval"] = approval
    return data


# -- self-declared identities ------------------------------------------------------------------------

def test_runbook_user_does_not_change_who_you_are_on_a_real_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    config = parse_config(real_production(terminal=True, approvers=["alice"]), "test")
    monkeypatch.setenv("RUNBOOK_USER", "alice")
    me = identity_for(config, "production", {"RUNBOOK_USER": "alice"})
    assert (me.name, me.via) == (os_account(), "os")


def test_the_configs_user_does_not_change_who_you_are_either() -> None:
    config = parse_config(real_production(terminal=True, approvers=["alice"]) | {"user": "alice"}, "test")
    assert identity_for(config, "production", {}).name == os_account()


def test_a_simulated_identity_on_a_real_backend_is_refused_at_load() -> None:
    data = real_production(terminal=True, approvers=["alice"])
    data["environments"]["production"]["identity"] = "simulated"
    with pytest.raises(ConfigError, match="identity 'simulated' .* is only allowed with backend 'sandbox'"):
        parse_config(data, "runbook.yaml")


def test_self_approval_through_runbook_user_is_refused(tmp_path: Path) -> None:
    """The requester (this OS account) sets RUNBOOK_USER to an approver's name: still the requester."""
    store = Scratchpad.in_dir(tmp_path)
    store.acquire_lock("checkout-api/production", Holder.this_process(os_account()).label, "dep-1", NOW, 90)
    request = gate.open_request(store, deployment_id="dep-1", service="checkout-api", environment="production",
                                from_version="1.2.2", to_version="1.2.3", image_digest="sha256:" + "a" * 64,
                                requester=os_account(), now=NOW, policy=ApprovalPolicy(approvers=["alice"]))
    config = parse_config(real_production(terminal=True, approvers=["alice", os_account()]), "test")
    me = identity_for(config, "production", {"RUNBOOK_USER": "alice"})
    with pytest.raises(gate.ApprovalError, match="cannot approve it"):
        gate.decide(store, request, "approved", by=me, channel="terminal", now=NOW,
                    policy=config.environment("production")[1].approval)
    assert store.get_approval(request.id).status == "pending"  # type: ignore[union-attr]


# -- approver lists fail closed --------------------------------------------------------------------

@pytest.mark.parametrize(("approval", "slack", "message"), [
    ({"terminal": True}, {}, "approval.approvers must name who may approve from the terminal"),
    ({"terminal": False, "slack": True}, {}, "slack.environments.production.approvers"),
    (None, {}, "slack.environments.production.approvers"),  # production's default: Slack only
    ({"terminal": True, "approvers": []}, {}, "approval.approvers must name"),
])
def test_a_production_without_named_approvers_is_refused(approval: dict[str, Any] | None, slack: dict[str, Any],
                                                         message: str) -> None:
    data = real_production(**(approval or {}))
    if approval is None:
        del data["environments"]["production"]["approval"]
    data["slack"] = {"environments": slack}
    with pytest.raises(ConfigError, match=message):
        parse_config(data, "runbook.yaml")


def test_an_environment_that_lets_requesters_approve_needs_no_list() -> None:
    parse_config(real_production(terminal=True, allow_self_approval=True) | {"slack": {}}, "test")


def test_a_terminal_approver_not_on_the_list_is_refused(tmp_path: Path) -> None:
    store = Scratchpad.in_dir(tmp_path)
    store.acquire_lock("checkout-api/production", Holder.this_process("bob").label, "dep-1", NOW, 90)
    policy = ApprovalPolicy(approvers=["alice"])
    request = gate.open_request(store, deployment_id="dep-1", service="checkout-api", environment="production",
                                from_version="1.2.2", to_version="1.2.3", image_digest="sha256:" + "a" * 64,
                                requester="bob", now=NOW, policy=policy)
    with pytest.raises(gate.ApprovalError, match="mallory is not an approver"):
        gate.decide(store, request, "approved", by=Identity(name="mallory", via="os"), channel="terminal",
                    now=NOW, policy=policy)
    assert store.get_approval(request.id).status == "pending"  # type: ignore[union-attr]


# -- Slack: the user ID decides, never a name, never a bot ------------------------------------------

def test_a_spoofed_username_is_never_recorded_as_the_approver(slack_world: SlackWorld) -> None:
    record, message = slack_world.open_request()
    payload = action_payload(message, "runbook_approve", "U0STRANGER", "alice")  # picks the name "alice"
    assert click(slack_world.bot_url, slack_world.secret, payload)[0] == 200
    assert wait_until(lambda: bool(slack_world.ephemeral_texts("U0STRANGER")))
    assert "not an approver" in slack_world.ephemeral_texts("U0STRANGER")[0]
    assert slack_world.approval(record.id).status == "pending"


@pytest.mark.parametrize("clicker", ["B0SOMEBOT1", "USLACKBOT", "bot-own-id"])
def test_bots_never_decide(slack_world: SlackWorld, clicker: str) -> None:
    record, message = slack_world.open_request()
    if clicker == "bot-own-id":
        clicker = BOT_USER_ID
    slack_world.config.slack.environments["production"].approvers.append(clicker)
    assert click(slack_world.bot_url, slack_world.secret,
                 action_payload(message, "runbook_approve", clicker, "runbook"))[0] == 200
    assert wait_until(lambda: bool([e for e in slack_world.standin.ephemeral if e.get("user") == clicker]))
    assert slack_world.approval(record.id).status == "pending" and message.updates == 0


def test_the_requester_clicking_approve_in_slack_is_refused(slack_world: SlackWorld) -> None:
    record, message = slack_world.open_request(requester="alice")
    assert slack_world.click(message, "alice")[0] == 200
    assert wait_until(lambda: bool(slack_world.ephemeral_texts("alice")))
    assert "You requested this production deploy" in slack_world.ephemeral_texts("alice")[0]
    assert slack_world.approval(record.id).status == "pending"


def test_an_unmapped_approver_is_recorded_by_user_id(slack_world: SlackWorld) -> None:
    record, message = slack_world.open_request()
    slack_world.config.slack.environments["production"].approvers.append("U0NEWHIRE1")
    assert click(slack_world.bot_url, slack_world.secret,
                 action_payload(message, "runbook_approve", "U0NEWHIRE1", "carol"))[0] == 200
    assert wait_until(lambda: slack_world.approval(record.id).status == "approved")
    assert slack_world.approval(record.id).decided_by == "slack:U0NEWHIRE1"


# -- AWS caller identities (moto's STS) ------------------------------------------------------------

@pytest.fixture
def sts_sessions(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        base = boto3.client("sts", region_name="eu-west-1")

        def session(name: str):  # type: ignore[no-untyped-def]
            creds = base.assume_role(RoleArn="arn:aws:iam::123456789012:role/Deployer",
                                     RoleSessionName=name)["Credentials"]
            return boto3.client("sts", region_name="eu-west-1", aws_access_key_id=creds["AccessKeyId"],
                                aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])

        yield session


def test_aws_identity_is_the_role_session_and_approver_lists_may_name_it(sts_sessions, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bob, alice = aws_identity(sts_sessions("bob")), aws_identity(sts_sessions("alice"))
    assert bob.name == "arn:aws:sts::123456789012:assumed-role/Deployer/bob" and "bob" in bob.aliases
    assert bob.via == "aws" and bob != alice
    store = Scratchpad.in_dir(tmp_path)
    store.acquire_lock("checkout-api/production", Holder.this_process("bob").label, "dep-1", NOW, 90)
    policy = ApprovalPolicy(approvers=["alice", "arn:aws:sts::123456789012:assumed-role/Deployer/bob"])
    request = gate.open_request(store, deployment_id="dep-1", service="checkout-api", environment="production",
                                from_version="1.2.2", to_version="1.2.3", image_digest="sha256:" + "a" * 64,
                                requester=bob.name, now=NOW, policy=policy)
    with pytest.raises(gate.ApprovalError, match="cannot approve it"):  # the same caller identity
        gate.decide(store, request, "approved", by=aws_identity(sts_sessions("bob")), channel="terminal",
                    now=NOW, policy=policy)
    decided = gate.decide(store, request, "approved", by=alice, channel="terminal", now=NOW, policy=policy)
    assert decided.decided_by == "arn:aws:sts::123456789012:assumed-role/Deployer/alice"


def test_no_aws_credentials_is_one_sentence() -> None:
    class Broken:
        def get_caller_identity(self) -> dict[str, str]:
            raise RuntimeError("Unable to locate credentials")

    from tools.backend import BackendError

    with pytest.raises(BackendError, match=r"cannot establish who you are in AWS \(sts:GetCallerIdentity"):
        aws_identity(Broken())


# -- the CLI ---------------------------------------------------------------------------------------

def test_approving_the_request_of_a_killed_deploy_is_refused_with_the_resume_hint() -> None:
    from tests.agent.deploy_processes import killed_deploy

    dead = killed_deploy("Waiting for approval")
    result = run_cli("approve", dead)
    assert result.exit_code == 13, result.output  # refused: the deploy is gone
    assert f"({dead}) is not running any more" in result.output and f"runbook resume {dead}" in result.output
    with Scratchpad.in_dir(Path(".runbook")) as store:
        assert store.approval_for_deployment(dead).status == "pending"  # type: ignore[union-attr]
