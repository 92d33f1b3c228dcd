"""Typed records kept in the scratchpad.

Every datetime is timezone-aware UTC: a naive datetime is refused when a record is built, and an aware
one in another zone is converted to UTC, so what goes into the store is what comes back out.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from memory.outcome import Outcome

__all__ = [
    "APPROVAL_STATUSES",
    "ApprovalRecord",
    "DEPLOYMENT_STATUSES",
    "DeploymentRecord",
    "EventRecord",
    "InvestigationRecord",
    "LockHeld",
    "LockRecord",
    "as_utc",
]

DEPLOYMENT_STATUSES = tuple(Outcome)
APPROVAL_STATUSES = ("pending", "approved", "denied", "expired", "aborted")


def as_utc(value: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is an error (we never guess a zone)."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValueError(f"naive datetime {value.isoformat()} (the scratchpad needs timezone-aware UTC)")
    return value.astimezone(UTC)


class _Record(BaseModel):
    model_config = ConfigDict(validate_assignment=True)

    @field_validator("*", mode="after")
    @classmethod
    def _utc(cls, value: Any) -> Any:
        return as_utc(value) if isinstance(value, datetime) else value


class DeploymentRecord(_Record):
    id: str  # e.g. "dep-20261126-1510-a1b2" (made by the caller)
    service: str
    environment: str
    from_version: str | None
    to_version: str
    image_digest: str | None = None
    requester: str
    requester_via: str | None = None  # how the requester was established: os, aws, simulated, slack, mcp
    approver: str | None = None
    started_at: datetime
    ended_at: datetime | None = None
    status: Outcome = Outcome.RUNNING
    from_revision: int | None = None  # task-definition revisions, for rollbacks
    to_revision: int | None = None
    metrics_before: dict[str, float | None] = {}
    metrics_after: dict[str, float | None] = {}
    kind: str = "deploy"  # deploy | rollback
    detail: str = ""  # one line: why it ended as it did


class EventRecord(_Record):
    seq: int  # increases with every append (store-wide), so ordering by seq is append order
    deployment_id: str
    kind: str
    at: datetime
    payload: dict[str, Any]


class ApprovalRecord(_Record):
    id: str  # request id
    deployment_id: str
    service: str
    environment: str
    from_version: str | None
    to_version: str
    image_digest: str
    requester: str
    requester_via: str | None = None
    requested_at: datetime
    expires_at: datetime
    status: str = "pending"  # one of APPROVAL_STATUSES
    decided_by: str | None = None
    decided_via: str | None = None  # os, aws, simulated, slack
    decided_at: datetime | None = None
    reason: str = ""
    channel: str | None = None  # "terminal", "slack", ...
    slack_channel: str | None = None  # where the request card was posted
    slack_ts: str | None = None


class LockRecord(_Record):
    key: str  # "checkout-api/production"
    holder: str  # who: user@host pid
    deployment_id: str
    acquired_at: datetime
    expires_at: datetime
    host: str | None = None  # where the holder runs: on the same host (and boot) a dead pid is a dead deploy
    pid: int | None = None
    boot_id: str | None = None  # the host's boot (e.g. /proc/sys/kernel/random/boot_id): pids repeat after a reboot


class LockHeld(Exception):
    """Raised by ``Scratchpad.acquire_lock`` (and ``refresh_lock``) when another deployment holds the lock."""

    def __init__(self, lock: LockRecord) -> None:
        self.lock = lock
        super().__init__(
            f"{lock.key} is locked by {lock.holder} for deployment {lock.deployment_id} "
            f"since {_clock(lock.acquired_at)} (expires {_clock(lock.expires_at)})"
        )


def _clock(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


class InvestigationRecord(_Record):
    id: str
    service: str
    environment: str | None
    question: str
    started_at: datetime
    window_start: datetime | None
    window_end: datetime | None
    summary: str
    findings: dict[str, Any]
