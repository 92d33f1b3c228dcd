"""The CLI's conventions, command by command: --output json on every command (JSON lines for the commands
that stream, one document for the others, schema_version everywhere, nothing else on stdout), the exit
codes of status/approve/deny, --yes, announced waits, the global options and --version."""

from __future__ import annotations

import json
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from agent.cli import _old_spelling, app
from agent.cli_output import STREAMING
from agent.render.jsonl import SCHEMA_VERSION
from tests.agent.cli_support import deciding, fleet_snapshot, recorded_deployments, run_cli

# One invocation per command, cheap and with nothing to wait for (a failure is fine: it must be JSON too).
SAMPLES: dict[str, list[str]] = {
    "deploy": ["deploy", "checkout-api", "--version", "1.2.3", "--dry-run"],
    "rollback": ["rollback", "payments-api", "-e", "staging"],
    "resume": ["resume", "dep-nope"],
    "approve": ["approve", "dep-nope"],
    "deny": ["deny", "dep-nope"],
    "history": ["history"],
    "status": ["status", "checkout-api"],
    "ask": ["ask", "is checkout-api healthy?"],
    "chat": ["chat"],
    "sandbox reset": ["sandbox", "reset"],
    "sandbox demo": ["sandbox", "demo", "--version", "9.9.9"],  # stops at the pre-checks: no such image
    "knowledge add": ["knowledge", "add", "nowhere"],
    "knowledge sync": ["knowledge", "sync"],
    "knowledge search": ["knowledge", "search", "redis connection errors"],
    "slack serve": ["slack", "serve"],  # no tokens: an error, as JSON
    "mcp serve": ["mcp", "serve", "--transport", "carrier-pigeon"],  # refused before it serves
}


def _commands(group: Any, prefix: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if hasattr(command, "commands"):  # a group (typer's own, or click's)
            found |= _commands(command, f"{path} ")
        else:
            found[path] = command
    return found


COMMANDS = _commands(typer.main.get_command(app))  # type: ignore[arg-type]


def test_every_command_takes_output_json_and_has_a_sample_here() -> None:
    assert set(COMMANDS) == set(SAMPLES), "a command was added or removed: give it a sample above"
    for path, command in COMMANDS.items():
        output = next((p for p in command.params if "--output" in getattr(p, "opts", ())), None)
        assert output is not None, f"`runbook {path}` takes no --output"
        choices = output.type_descriptor.choices or ()
        assert "json" in [getattr(c, "value", c) for c in choices], path


@pytest.mark.parametrize("path", sorted(SAMPLES))
def test_output_json_is_json_and_only_json(path: str) -> None:
    for args in (["-o", "json", *SAMPLES[path]], [*SAMPLES[path], "--output", "json"]):
        result = CliRunner().invoke(app, args, input="is checkout-api healthy?\n\n", catch_exceptions=False)
        lines = result.stdout.splitlines()
        assert lines, result.output
        parsed: list[dict[str, Any]] = [json.loads(line) for line in lines]  # nothing but JSON on stdout
        assert all(p["schema_version"] == SCHEMA_VERSION for p in parsed)
        if path in STREAMING:
            assert all("kind" in p for p in parsed), parsed
        else:
            (document,) = parsed
            assert document["command"] == path and document["ok"] == (result.exit_code == 0), document
            if result.exit_code:
                assert document["error"]["exit_code"] == result.exit_code


def test_a_failure_in_a_stream_ends_with_an_error_line() -> None:
    result = run_cli("-o", "json", "resume", "dep-nope")
    last = json.loads(result.stdout.splitlines()[-1])
    assert last["kind"] == "error" and last["exit_code"] == result.exit_code == 2 and "dep-nope" in last["message"]


def test_the_global_options_are_listed_once_with_the_output_choices() -> None:
    top = run_cli("--help").output
    for option in ("--config", "--output", "--verbose", "--quiet", "--profile", "--region", "--version",
                   "--install-completion"):
        assert option in top, option
    assert "auto|rich|plain|json" in top.replace(" ", "") or "[auto|rich|plain|json]" in top
    deploy_help = run_cli("deploy", "--help").output
    assert "--config" not in deploy_help and "Examples:" in deploy_help and "-v," not in deploy_help


def test_version() -> None:
    result = run_cli("--version")
    assert result.exit_code == 0 and result.output.startswith("runbook ") and "runbook-sre" in result.output


def test_the_old_short_version_tag_gets_a_hint_and_runs_nothing() -> None:
    assert "--version 1.2.3" in (_old_spelling(["deploy", "checkout-api", "-v", "1.2.3"]) or "")
    assert _old_spelling(["deploy", "checkout-api", "-v", "--version", "1.2.3"]) is None


def test_quiet_keeps_only_the_result() -> None:
    result = run_cli("-q", "status", "checkout-api")
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout.startswith("checkout-api (production)")


# -- exit codes ---------------------------------------------------------------------------------------------


def test_status_exits_10_when_a_service_is_not_healthy() -> None:
    assert run_cli("status", "checkout-api").exit_code == 0
    unhealthy = run_cli("status", "payments-api", "-e", "production")  # the sandbox's 5xx alarm fires
    assert unhealthy.exit_code == 10 and "NOT healthy" in unhealthy.stdout


def test_status_exits_11_when_a_backend_cannot_be_read(monkeypatch: pytest.MonkeyPatch) -> None:
    from tools.backend import BackendError
    from tools.sandbox.platform import SandboxPlatform

    def unreachable(self, target):  # type: ignore[no-untyped-def]
        raise BackendError("ECS could not be reached (EndpointConnectionError)")

    monkeypatch.setattr(SandboxPlatform, "describe_service", unreachable)
    result = run_cli("-o", "json", "status", "checkout-api")
    assert result.exit_code == 11
    document = json.loads(result.stdout)
    assert document["ok"] is False and document["exit_code"] == 11
    assert all(s["error"] and s["healthy_overall"] is False for s in document["services"])


def test_approve_and_deny_tell_not_found_from_refused() -> None:
    assert run_cli("approve", "dep-nope").exit_code == 12
    assert run_cli("deny", "dep-nope", "--reason", "x").exit_code == 12


# -- --yes and waits ----------------------------------------------------------------------------------------


def test_yes_approves_a_staging_deploy_as_the_requester() -> None:
    before = fleet_snapshot(environment="staging")
    result = run_cli("deploy", "checkout-api", "--version", "1.2.3", "-e", "staging", "--yes")
    assert result.exit_code == 0, result.output
    assert "Approving it yourself (--yes)" in result.stderr
    assert fleet_snapshot(environment="staging")["version"] == "1.2.3" != before["version"]
    assert recorded_deployments()[0]["approver"] == "dev"


def test_yes_is_refused_where_another_person_must_approve() -> None:
    before = fleet_snapshot()
    result = run_cli("deploy", "checkout-api", "--version", "1.2.3", "-e", "production", "--yes")
    assert result.exit_code == 2
    assert "--yes is refused: production's approval policy needs someone other than the requester" in result.stderr
    assert fleet_snapshot() == before and recorded_deployments() == []


def test_a_wait_for_approval_says_what_for_until_when_and_how_to_end_it() -> None:
    with deciding("approve", "alice"):
        result = run_cli("deploy", "checkout-api", "--version", "1.2.3", "-e", "production")
    assert result.exit_code == 0, result.output
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("Waiting for a person to approve")]
    assert "checkout-api 1.2.3 in production, until" in line and "UTC (" in line
    assert "runbook approve dep-" in line and "Ctrl-C stops waiting" in line
