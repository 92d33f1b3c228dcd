"""The way back: which deploy a rollback undoes and what ran before it, found from what actually ran.

The platform says which revision runs now; the deployment records say which deploy put that revision there
and what ran before it (its `from_version` and `from_revision`). A rollback's own record is stepped over: it
put back what ran before the deploy it undid, so the way back from there is the way back from that deploy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from memory.records import DeploymentRecord
from tools.models import Alarm


@dataclass(frozen=True)
class WayBack:
    undoes: DeploymentRecord  # the deploy that put what runs now in place
    version: str  # the version that ran before it
    revision: int | None  # the task-definition revision that ran before it (its configuration included)
    digest: str | None  # the image digest that revision ran, as runbook recorded it (None: not recorded)


def find_way_back(records: Sequence[DeploymentRecord], running_revision: int) -> WayBack | None:
    """The way back from the revision that runs now, or None when no record says how it came to run."""
    newest_first = sorted(records, key=lambda r: r.started_at, reverse=True)
    revision: int | None = running_revision
    before: datetime | None = None
    for _ in range(len(newest_first) + 1):
        made = _made_live(newest_first, revision, before)
        if made is None:
            return None
        if made.kind != "rollback":
            if not made.from_version:
                return None
            return WayBack(undoes=made, version=made.from_version, revision=made.from_revision,
                           digest=_digest_of(newest_first, made.from_revision, made.started_at))
        # A rollback put back what ran before the deploy it undid: go on from there.
        undone = _made_live(newest_first, made.from_revision, made.started_at)
        if undone is None:
            return None
        revision, before = undone.from_revision, undone.started_at
    return None


def ran_as(records: Sequence[DeploymentRecord], version: str) -> tuple[int | None, str | None]:
    """(revision, digest) that `version` last ran as, by the records (None, None: no record of it running):
    what a rollback to an older version (`--to`) restores."""
    for record in sorted(records, key=lambda r: r.started_at, reverse=True):
        if record.from_version == version and record.from_revision is not None:
            return record.from_revision, _digest_of(records, record.from_revision, record.started_at)
        if record.to_version == version and record.to_revision is not None and record.status.ok:
            return record.to_revision, record.image_digest
    return None, None


def _made_live(records: Sequence[DeploymentRecord], revision: int | None,
               before: datetime | None) -> DeploymentRecord | None:
    """The newest deploy (started before `before`) that registered `revision`: the one that put it in place.
    Each deploy registers revisions of its own, so a revision that ran was put there by at most one."""
    if revision is None:
        return None
    return next((r for r in records if r.to_revision == revision and (before is None or r.started_at < before)),
                None)


def _digest_of(records: Sequence[DeploymentRecord], revision: int | None, before: datetime) -> str | None:
    made = _made_live(records, revision, before)
    return made.image_digest if made is not None else None


def raised_since(alarms: Sequence[Alarm], started_at: datetime | None) -> tuple[list[Alarm], list[Alarm]]:
    """(alarms that went into ALARM after `started_at`, alarms that were firing before it or since when is
    unknown). The first are the bad version's doing and never stop its rollback; the others do."""
    if started_at is None:
        return [], list(alarms)
    after = [a for a in alarms if a.since is not None and a.since >= started_at]
    return after, [a for a in alarms if a not in after]
