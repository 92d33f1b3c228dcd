"""status and rollback skills on the sandbox."""

from __future__ import annotations

import pytest

from agent.runtime import runtime_for
from skills.rollback import NoRollbackTarget, previous_version, rollback_target, run_rollback
from skills.status import render_reports, service_status
from tests.skills.sandbox_deploys import approve_from_thread, deploy_with_approval
from tools.config import sandbox_default_config


def test_status_reports_version_health_alarms_and_deploys() -> None:
    with runtime_for(sandbox_default_config()) as runtime:
        reports = service_status(runtime, None, "production")
    by_service = {r.service: r for r in reports}
    assert by_service["checkout-api"].version == "1.2.2" and by_service["checkout-api"].healthy_overall
    assert [a.name for a in by_service["payments-api"].alarms] == ["payments-api-5xx-rate"]
    assert "payments-api (production): 3.4.1" in render_reports(reports)


def test_rollback_goes_to_the_previous_version_through_the_gates() -> None:
    runtime = runtime_for(sandbox_default_config())
    with pytest.raises(NoRollbackTarget):
        rollback_target(runtime, "checkout-api", "production")
    assert deploy_with_approval(runtime, "1.2.3") == 0
    assert previous_version(runtime, "checkout-api", "production") == "1.2.2"
    thread = approve_from_thread(runtime, "checkout-api", "production")
    assert run_rollback(runtime, "checkout-api", "production", lambda e: None) == 0
    thread.join(timeout=30)
    [report] = service_status(runtime, "checkout-api", "production")
    runtime.close()
    assert report.version == "1.2.2"
    assert report.recent_deploys[0].kind == "rollback" and report.recent_deploys[0].approver == "alice"



def test_rollback_with_no_success_on_record_goes_to_what_ran_before_the_failed_deploy() -> None:
    with runtime_for(sandbox_default_config()) as runtime:
        assert deploy_with_approval(runtime, "1.2.4") == 7  # validation failed, 1.2.4 left running
        assert previous_version(runtime, "checkout-api", "production") == "1.2.2"


def test_rollback_after_a_failed_deploy_goes_to_the_version_that_ran_before_it() -> None:
    with runtime_for(sandbox_default_config()) as runtime:
        assert deploy_with_approval(runtime, "1.2.3") == 0
        assert deploy_with_approval(runtime, "1.2.4") == 7
        # 1.2.3 succeeded, 1.2.4 failed and runs: the way back is 1.2.3, not the last success's 1.2.2.
        assert previous_version(runtime, "checkout-api", "production") == "1.2.3"
