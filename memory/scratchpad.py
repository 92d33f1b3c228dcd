"""The scratchpad: runbook's audit trail and the store shared between processes.

One SQLite file by default (WAL, busy timeout), or PostgreSQL for a team (see ``memory.database``).
Everything that must be atomic across processes (an approval decision, taking a lock) is a single
conditional statement, so it holds on PostgreSQL as much as on SQLite. A failure of the state itself
(damaged, read-only, full, unreachable) is a ``StateError`` naming the file or URL.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from memory._schema import (
    approvals,
    deployments,
    events,
    fetch_all,
    fetch_one,
    filtered,
    investigations,
    locks,
)
from memory.fleet import FleetDocument
from memory.records import (
    APPROVAL_STATUSES,
    ApprovalRecord,
    DeploymentRecord,
    EventRecord,
    InvestigationRecord,
    LockHeld,
    LockRecord,
    as_utc,
)
from memory.store import Store

__all__ = ["Scratchpad"]

_DECISIONS = tuple(s for s in APPROVAL_STATUSES if s != "pending")


class Scratchpad(FleetDocument, Store):
    """Open with ``memory.database.open_store(url)``, ``Scratchpad(url)`` or ``Scratchpad.in_dir(state_dir)``."""

    # -- deployments -------------------------------------------------------------------------------

    def record_deployment(self, record: DeploymentRecord) -> None:
        with self._write() as conn:
            conn.execute(insert(deployments).values(**record.model_dump()))

    def update_deployment(self, deployment_id: str, **fields: Any) -> DeploymentRecord:
        bad = sorted(set(fields) - (set(DeploymentRecord.model_fields) - {"id"}))
        if bad:
            raise TypeError(f"cannot update deployment field(s): {', '.join(bad)}")
        with self._write() as conn:
            row = fetch_one(
                conn, select(deployments).where(deployments.c.id == deployment_id), DeploymentRecord
            )
            if row is None:
                raise KeyError(deployment_id)
            merged = DeploymentRecord.model_validate({**row.model_dump(), **fields})
            changed = {name: value for name, value in merged.model_dump().items() if name in fields}
            if changed:
                conn.execute(update(deployments).where(deployments.c.id == deployment_id).values(**changed))
        return merged

    def get_deployment(self, deployment_id: str) -> DeploymentRecord | None:
        with self._read() as conn:
            return fetch_one(
                conn, select(deployments).where(deployments.c.id == deployment_id), DeploymentRecord
            )

    def list_deployments(
        self,
        service: str | None = None,
        environment: str | None = None,
        limit: int = 20,
        kind: str | None = None,
    ) -> list[DeploymentRecord]:
        """Newest first (by ``started_at``)."""
        query = filtered(deployments, service=service, environment=environment, kind=kind)
        query = query.order_by(deployments.c.started_at.desc(), deployments.c.id.desc()).limit(limit)
        with self._read() as conn:
            return fetch_all(conn, query, DeploymentRecord)

    def find_deployment(self, prefix: str) -> DeploymentRecord | None:
        """The deployment whose id is ``prefix``, or the only one whose id starts with it (else None)."""
        if not prefix:
            return None
        exact = self.get_deployment(prefix)
        if exact is not None:
            return exact
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = select(deployments).where(deployments.c.id.like(escaped + "%", escape="\\")).limit(2)
        with self._read() as conn:
            found = fetch_all(conn, query, DeploymentRecord)
        return found[0] if len(found) == 1 else None

    # -- append-only event log ---------------------------------------------------------------------

    def append_event(self, deployment_id: str, kind: str, at: datetime, payload: dict[str, Any]) -> int:
        """Append one event; returns its ``seq`` (store-wide, strictly increasing)."""
        with self._write() as conn:
            result = conn.execute(
                insert(events).values(deployment_id=deployment_id, kind=kind, at=as_utc(at), payload=payload)
            )
            key = result.inserted_primary_key
        assert key is not None and key[0] is not None
        return int(key[0])

    def events(self, deployment_id: str) -> list[EventRecord]:
        query = select(events).where(events.c.deployment_id == deployment_id).order_by(events.c.seq)
        with self._read() as conn:
            return fetch_all(conn, query, EventRecord)

    # -- approvals ---------------------------------------------------------------------------------

    def create_approval(self, record: ApprovalRecord) -> None:
        with self._write() as conn:
            conn.execute(insert(approvals).values(**record.model_dump()))

    def get_approval(self, request_id: str) -> ApprovalRecord | None:
        with self._read() as conn:
            return fetch_one(conn, select(approvals).where(approvals.c.id == request_id), ApprovalRecord)

    def approval_for_deployment(self, deployment_id: str) -> ApprovalRecord | None:
        """The latest approval request of the deployment, if any."""
        query = (
            select(approvals)
            .where(approvals.c.deployment_id == deployment_id)
            .order_by(approvals.c.requested_at.desc(), approvals.c.id.desc())
            .limit(1)
        )
        with self._read() as conn:
            return fetch_one(conn, query, ApprovalRecord)

    def pending_approvals(
        self, service: str | None = None, environment: str | None = None
    ) -> list[ApprovalRecord]:
        """Requests still ``pending`` (oldest first), whether or not their ``expires_at`` has passed."""
        query = filtered(approvals, service=service, environment=environment, status="pending")
        query = query.order_by(approvals.c.requested_at, approvals.c.id)
        with self._read() as conn:
            return fetch_all(conn, query, ApprovalRecord)

    def decide_approval(
        self,
        request_id: str,
        status: str,
        by: str | None,
        at: datetime,
        reason: str = "",
        channel: str | None = None,
        via: str | None = None,
    ) -> tuple[ApprovalRecord, bool]:
        """Decide a pending request. Returns (record as stored now, whether this call decided it).

        A single ``UPDATE ... WHERE status = 'pending'``: of any number of racing deciders exactly one
        wins, and deciding an already-decided request changes nothing. Unknown id -> KeyError.
        """
        if status not in _DECISIONS:
            raise ValueError(f"not a decision: {status!r} (expected one of {', '.join(_DECISIONS)})")
        statement = (
            update(approvals)
            .where(approvals.c.id == request_id, approvals.c.status == "pending")
            .values(status=status, decided_by=by, decided_at=as_utc(at), reason=reason, channel=channel,
                    decided_via=via)
        )
        with self._write() as conn:
            won = conn.execute(statement).rowcount == 1
            record = fetch_one(conn, select(approvals).where(approvals.c.id == request_id), ApprovalRecord)
        if record is None:
            raise KeyError(request_id)
        return record, won

    def set_approval_message(self, request_id: str, slack_channel: str, slack_ts: str) -> None:
        statement = (
            update(approvals)
            .where(approvals.c.id == request_id)
            .values(slack_channel=slack_channel, slack_ts=slack_ts)
        )
        with self._write() as conn:
            if conn.execute(statement).rowcount != 1:
                raise KeyError(request_id)

    # -- locks: one deploy per service+environment -------------------------------------------------

    def acquire_lock(
        self,
        key: str,
        holder: str,
        deployment_id: str,
        now: datetime,
        ttl_seconds: float,
        *,
        host: str | None = None,
        pid: int | None = None,
        boot_id: str | None = None,
    ) -> LockRecord:
        """Take the lock, or take it over if it has expired; raise LockHeld if someone else holds it.

        The deployment that already holds the lock may acquire it again (a resumed deploy): its
        holder, where it runs (``host``, ``pid``, ``boot_id``) and expiry are renewed, ``acquired_at`` is kept.
        """
        now = as_utc(now)
        lock = LockRecord(
            key=key,
            holder=holder,
            deployment_id=deployment_id,
            acquired_at=now,
            expires_at=now + timedelta(seconds=ttl_seconds),
            host=host,
            pid=pid,
            boot_id=boot_id,
        )
        takeover = (
            update(locks)
            .where(locks.c.key == key, (locks.c.expires_at <= now) | (locks.c.deployment_id == deployment_id))
            .values(
                holder=holder,
                acquired_at=case((locks.c.deployment_id == deployment_id, locks.c.acquired_at), else_=now),
                deployment_id=deployment_id,
                expires_at=lock.expires_at,
                host=host,
                pid=pid,
                boot_id=boot_id,
            )
        )
        for _attempt in range(5):  # only loops if the lock is released between our two statements
            try:
                with self._write() as conn:
                    conn.execute(insert(locks).values(**lock.model_dump()))
                return lock
            except IntegrityError:
                pass
            with self._write() as conn:
                taken = conn.execute(takeover).rowcount == 1
                current = fetch_one(conn, select(locks).where(locks.c.key == key), LockRecord)
            if taken and current is not None:
                return current
            if current is not None:
                raise LockHeld(current)
        raise RuntimeError(f"could not acquire lock {key}: it keeps changing hands")

    def take_over_lock(
        self,
        key: str,
        seen: LockRecord | None,
        holder: str,
        deployment_id: str,
        now: datetime,
        ttl_seconds: float,
        *,
        host: str | None = None,
        pid: int | None = None,
        boot_id: str | None = None,
    ) -> LockRecord | None:
        """Take the lock only if it is still exactly as ``seen`` (None: free), e.g. to resume a dead deploy.

        Of racing callers that saw the same lock, one gets it and the others None. ``host``, ``pid`` and
        ``boot_id`` say where the new holder runs.
        """
        now = as_utc(now)
        lock = LockRecord(key=key, holder=holder, deployment_id=deployment_id, acquired_at=now,
                          expires_at=now + timedelta(seconds=ttl_seconds), host=host, pid=pid, boot_id=boot_id)
        if seen is None:
            try:
                with self._write() as conn:
                    conn.execute(insert(locks).values(**lock.model_dump()))
                return lock
            except IntegrityError:
                return None
        if seen.deployment_id == deployment_id:
            lock.acquired_at = seen.acquired_at
        statement = (
            update(locks)
            .where(locks.c.key == key, locks.c.holder == seen.holder,
                   locks.c.deployment_id == seen.deployment_id, locks.c.expires_at == seen.expires_at)
            .values(**lock.model_dump(exclude={"key"}))
        )
        with self._write() as conn:
            return lock if conn.execute(statement).rowcount == 1 else None

    def refresh_lock(self, key: str, deployment_id: str, now: datetime, ttl_seconds: float) -> None:
        """Extend our lock. LockHeld if another deployment holds it now; KeyError if nobody does."""
        expires_at = as_utc(now) + timedelta(seconds=ttl_seconds)
        statement = (
            update(locks)
            .where(locks.c.key == key, locks.c.deployment_id == deployment_id)
            .values(expires_at=expires_at)
        )
        with self._write() as conn:
            if conn.execute(statement).rowcount == 1:
                return
            current = fetch_one(conn, select(locks).where(locks.c.key == key), LockRecord)
        if current is None:
            raise KeyError(key)
        raise LockHeld(current)

    def release_lock(self, key: str, deployment_id: str) -> None:
        """Release the lock if ``deployment_id`` owns it; otherwise do nothing."""
        with self._write() as conn:
            conn.execute(delete(locks).where(locks.c.key == key, locks.c.deployment_id == deployment_id))

    def get_lock(self, key: str, now: datetime | None = None) -> LockRecord | None:
        """The lock on ``key``; None when free or (if ``now`` is given) expired."""
        with self._read() as conn:
            lock = fetch_one(conn, select(locks).where(locks.c.key == key), LockRecord)
        if lock is None or (now is not None and lock.expires_at <= as_utc(now)):
            return None
        return lock

    # -- investigations ----------------------------------------------------------------------------

    def record_investigation(self, record: InvestigationRecord) -> None:
        with self._write() as conn:
            conn.execute(insert(investigations).values(**record.model_dump()))

    def list_investigations(self, service: str | None = None, limit: int = 20) -> list[InvestigationRecord]:
        """Newest first (by ``started_at``)."""
        query = filtered(investigations, service=service)
        query = query.order_by(investigations.c.started_at.desc(), investigations.c.id.desc()).limit(limit)
        with self._read() as conn:
            return fetch_all(conn, query, InvestigationRecord)
