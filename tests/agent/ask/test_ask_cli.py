"""`runbook ask` and `runbook status` on the sandbox with the offline router."""

from __future__ import annotations

from agent.router import Intent, route
from tests.agent.cli_support import run_cli
from tools.config import sandbox_default_config


def test_ask_for_errors_works_out_of_the_box() -> None:
    result = run_cli("ask", "Show errors for payments-api last 10 minutes", "--verbose")
    assert result.exit_code == 0, result.output
    assert "payments-api in production" in result.output and "error log events" in result.output
    assert "card processor" in result.output and "payments-api-5xx-rate" in result.output
    assert "tool investigate(service=payments-api, window_minutes=10" in result.output


def test_follow_up_uses_the_session() -> None:
    run_cli("ask", "Show errors for checkout-api last 10 minutes", "--session", "t1")
    result = run_cli("ask", "and the hour before?", "--session", "t1", "--verbose")
    assert "checkout-api in production" in result.output
    assert "window_minutes=60, offset_minutes=10" in result.output
    other = run_cli("ask", "and the hour before?", "--session", "t2")
    assert "error log events" not in other.output  # another session has no context


def test_unknown_requests_say_what_works_offline() -> None:
    result = run_cli("ask", "write me a poem about kubernetes")
    assert result.exit_code == 2 and "No model is configured" in result.output  # nothing ran


def test_status_command() -> None:
    result = run_cli("status", "checkout-api", "-e", "production")
    assert result.exit_code == 0 and "checkout-api (production): 1.2.2, 10/10 tasks healthy" in result.output
    bad = run_cli("status", "nope")
    assert bad.exit_code == 2 and "Unknown service 'nope'" in bad.output


def test_router_passes_the_models_arguments() -> None:
    config = sandbox_default_config()
    intent = route("deploy checkout-api v1.2.4 to prod", config)
    assert isinstance(intent, Intent) and intent.tool == "request_deploy"
    assert intent.args == {"service": "checkout-api", "version": "1.2.4", "environment": "production"}
