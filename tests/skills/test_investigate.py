"""investigate on the sandbox: errors by signature, metrics against the window before, alarms, and the
deployment that lines up in time (a real deploy of checkout-api 1.2.4, approved by a person)."""

from __future__ import annotations

from agent.runtime import runtime_for
from memory.outcome import Outcome
from skills.investigate import group_errors, investigate, signature_of
from tests.skills.sandbox_deploys import deploy_with_approval
from tools.backend import target_for
from tools.config import sandbox_default_config
from tools.models import LogEvent


def _investigate(service: str, window: int = 10, offset: int = 0):  # type: ignore[no-untyped-def]
    with runtime_for(sandbox_default_config()) as runtime:
        return investigate(runtime.backend("production"), runtime.store,
                           target_for(runtime.config, service, "production"), window, offset, "test")


def test_signatures_blank_out_ids_and_numbers() -> None:
    assert signature_of("request queue full request_id=0a1b2c3d4e5f") == "request queue full request_id=…"
    assert signature_of("returned 503, retrying") == "returned <n>, retrying"
    from datetime import UTC, datetime, timedelta

    t = datetime(2026, 1, 1, tzinfo=UTC)
    events = [LogEvent(timestamp=t + timedelta(seconds=i), message=f"boom {i} request_id=ab{i:010x}") for i in range(3)]
    [group] = group_errors(events)
    assert (group.count, group.first_seen, group.last_seen) == (3, t, t + timedelta(seconds=2))


def test_finds_the_errors_and_the_deploy_they_line_up_with() -> None:
    with runtime_for(sandbox_default_config()) as runtime:
        assert deploy_with_approval(runtime, "1.2.4") == Outcome.LEFT_RUNNING.exit_code  # no --auto-rollback

    findings = _investigate("checkout-api", window=15)

    signatures = " ".join(g.signature for g in findings.errors)
    assert "OutOfMemoryError" in signatures or "request queue full" in signatures
    assert findings.current.error_rate_percent and findings.previous.error_rate_percent is not None
    assert findings.current.error_rate_percent > findings.previous.error_rate_percent
    [deploy] = [d for d in findings.deployments if d.to_version == "1.2.4"]
    assert deploy.reached_full_at is not None and deploy.errors_rose_at is not None
    assert "errors rose" in deploy.note and "1.2.4" in deploy.note
    assert deploy.deployment_id in findings.answer and "Evidence:" in findings.answer

    # signatures split by version and marked new or seen before the deploy (the baseline window)
    assert findings.baseline is not None and findings.baseline.deployment_id == deploy.deployment_id
    assert "1.2.4" in findings.by_version
    oom = next(g for g in findings.errors if "OutOfMemoryError" in g.signature)
    assert oom.new is True and set(oom.by_version) == {"1.2.4"} and oom.before == 0
    assert "NEW: not in the 15 min before deploy" in findings.answer
    # a concrete next step, with its command
    [step] = findings.next_steps
    assert step.command == "runbook rollback checkout-api --environment production --to 1.2.2"
    assert "Next step: Roll back to 1.2.2" in findings.answer and step.command in findings.answer

    with runtime_for(sandbox_default_config()) as runtime:
        [logged] = runtime.store.list_investigations("checkout-api")
    assert logged.summary == findings.answer and logged.findings["error_count"] == findings.error_count


def test_counts_are_true_past_the_first_page() -> None:
    findings = _investigate("payments-api", window=60)
    with runtime_for(sandbox_default_config()) as runtime:
        every = runtime.backend("production").logs.error_events(
            target_for(runtime.config, "payments-api", "production"), findings.window_start, findings.window_end,
            None, 100_000)
    assert findings.error_count == every.total == len(every.events) > 500  # not "500", the real number
    assert findings.grouped == findings.error_count == sum(g.count for g in findings.errors)
    assert f"{findings.error_count:,} error log events" in findings.answer
    assert all(g.new is False for g in findings.errors)  # the card processor trouble was there before too


def test_a_quiet_service_has_no_deploys_to_line_up() -> None:
    findings = _investigate("inventory-api")
    assert findings.deployments == [] and findings.alarms == []
    assert "No alarms in ALARM." in findings.answer
