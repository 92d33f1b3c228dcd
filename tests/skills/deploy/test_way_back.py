"""The way back, found from what ran: the deployment records and the revision the platform runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from memory.outcome import Outcome
from memory.records import DeploymentRecord
from skills.deploy.way_back import find_way_back, raised_since, ran_as
from tools.models import Alarm

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def record(n: int, from_version: str | None, to_version: str, from_revision: int | None, to_revision: int | None,
           status: Outcome, kind: str = "deploy") -> DeploymentRecord:
    return DeploymentRecord(id=f"dep-{n}", service="checkout-api", environment="production", from_version=from_version,
                            to_version=to_version, requester="dev", started_at=T0 + timedelta(hours=n), status=status,
                            from_revision=from_revision, to_revision=to_revision, kind=kind,
                            image_digest=f"sha256:{to_version}")


SUCCEEDED_123 = record(1, "1.2.2", "1.2.3", 44, 45, Outcome.SUCCEEDED)
FAILED_124 = record(2, "1.2.3", "1.2.4", 45, 46, Outcome.LEFT_RUNNING)


def test_the_way_back_from_a_failed_deploy_left_running_is_the_version_before_it() -> None:
    way = find_way_back([SUCCEEDED_123, FAILED_124], running_revision=46)
    assert way is not None and way.undoes.id == "dep-2"
    assert (way.version, way.revision, way.digest) == ("1.2.3", 45, "sha256:1.2.3")


def test_a_deploy_that_never_went_live_is_not_the_one_undone() -> None:
    canary_failed = record(3, "1.2.3", "1.2.5", 45, 47, Outcome.CANARY_FAILED)
    way = find_way_back([SUCCEEDED_123, canary_failed], running_revision=45)
    assert way is not None and way.undoes.id == "dep-1" and way.version == "1.2.2"


def test_without_any_success_on_record_the_records_still_say() -> None:
    way = find_way_back([FAILED_124.model_copy(update={"from_version": "1.2.2", "from_revision": 44})], 46)
    assert way is not None and way.version == "1.2.2" and way.digest is None  # 1.2.2 ran before runbook


def test_a_rollback_is_stepped_over() -> None:
    rolled_back = record(3, "1.2.4", "1.2.3", 46, 47, Outcome.SUCCEEDED, kind="rollback")
    way = find_way_back([SUCCEEDED_123, FAILED_124, rolled_back], running_revision=47)
    assert way is not None and way.undoes.id == "dep-1" and way.version == "1.2.2"


def test_no_record_of_the_running_revision_is_no_way_back() -> None:
    assert find_way_back([SUCCEEDED_123], running_revision=44) is None
    assert find_way_back([], running_revision=44) is None


def test_ran_as_names_the_revision_a_version_last_ran_as() -> None:
    assert ran_as([SUCCEEDED_123, FAILED_124], "1.2.3") == (45, "sha256:1.2.3")
    assert ran_as([SUCCEEDED_123, FAILED_124], "1.2.2") == (44, None)
    assert ran_as([SUCCEEDED_123], "9.9.9") == (None, None)


def test_alarms_the_bad_version_raised_are_told_from_those_firing_before_it() -> None:
    before = Alarm(name="db-connections", state="ALARM", since=T0)
    raised = Alarm(name="5xx-rate", state="ALARM", since=T0 + timedelta(hours=2, minutes=5))
    unknown = Alarm(name="p99", state="ALARM")
    assert raised_since([before, raised, unknown], FAILED_124.started_at) == ([raised], [before, unknown])
    assert raised_since([raised], None) == ([], [raised])
