"""The scratchpad: runbook's audit trail and the store shared between processes.

One SQLite file by default (WAL, busy timeout), or PostgreSQL for a team (see ``memory.database``).
Everything that must be atomic across processes (an approval decision, taking a lock) is a single
conditional statement, so it holds on PostgreSQL as much as on SQLite. A failure of the state itself
(damaged, read-only, full, unreachable) is a ``StateError`` naming the file or URL.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from memory._schema import (
    approvals,
    deployments,
    events,
    fetch_all,
    fetch_one,
    insert,
    investigations,
    locks,
    select,
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
from memory.sql import is_integrity_error
from memory.store import Store

__all__ = ["Scratchpad"]

_DECISIONS = tuple(s for s in APPROVAL_STATUSES if s != "pending")


class Scratchpad(FleetDocument, Store):
    """Open with ``memory.database.open_store(url)``, ``Scratchpad(url)`` or ``Scratchpad.in_dir(state_dir)``."""

    # -- deployments -------------------------------------------------------------------------------

    def record_deployment(self, record: DeploymentRecord) -> None:
        with self._write() as conn:
            conn.execute(*insert(deployments, record.model_dump()))

    def update_deployment(self, deployment_id: str, **fields: Any) -> DeploymentRecord:
        bad = sorted(set(fields) - (set(DeploymentRecord.model_fields) - {"id"}))
        if bad:
            raise TypeError(f"cannot update deployment field(s): {', '.join(bad)}")
        with self._write() as conn:
            row = fetch_one(conn, deployments, select(deployments, {"id": deployment_id}), DeploymentRecord)
            if row is None:
                raise KeyError(deployment_id)
            merged = DeploymentRecord.model_validate({**row.model_dump(), **fields})
            changed = {name: value for name, value in merged.model_dump().items() if name in fields}
            if changed:
                assignments = ", ".join(f"{deployments.column(name)} = :{name}" for name in changed)
                conn.execute(f'UPDATE deployments SET {assignments} WHERE "id" = :__id',
                             {**changed, "__id": deployment_id})
        return merged

    def get_deployment(self, deployment_id: str) -> DeploymentRecord | None:
        with self._read() as conn:
            return fetch_one(conn, deployments, select(deployments, {"id": deployment_id}), DeploymentRecord)

    def list_deployments(
        self,
        service: str | None = None,
        environment: str | None = None,
        limit: int = 20,
        kind: str | None = None,
    ) -> list[DeploymentRecord]:
        """Newest first (by ``started_at``)."""
        query = select(deployments, {"service": service, "environment": environment, "kind": kind},
                       order_by=("-started_at", "-id"), limit=limit)
        with self._read() as conn:
            return fetch_all(conn, deployments, query, DeploymentRecord)

    def find_deployment(self, prefix: str) -> DeploymentRecord | None:
        """The deployment whose id is ``prefix``, or the only one whose id starts with it (else None)."""
        if not prefix:
            return None
        exact = self.get_deployment(prefix)
        if exact is not None:
            return exact
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = ('SELECT * FROM deployments WHERE "id" LIKE :pattern ESCAPE :escape LIMIT 2',
                 {"pattern": escaped + "%", "escape": "\\"})
        with self._read() as conn:
            found = fetch_all(conn, deployments, query, DeploymentRecord)
        return found[0] if len(found) == 1 else None

    # -- append-only event log ---------------------------------------------------------------------

    def append_event(self, deployment_id: str, kind: str, at: datetime, payload: dict[str, Any]) -> int:
        """Append one event; returns its ``seq`` (store-wide, strictly increasing)."""
        sql, params = insert(events, {"deployment_id": deployment_id, "kind": kind, "at": as_utc(at),
                                      "payload": payload})
        with self._write() as conn:
            if conn.dialect == "postgresql":
                seq = conn.execute(sql + ' RETURNING "seq"', params).scalar()
            else:
                seq = conn.execute(sql, params).lastrowid
        assert seq is not None
        return int(seq)

    def events(self, deployment_id: str) -> list[EventRecord]:
        query = select(events, {"deployment_id": deployment_id}, order_by=("seq",))
        with self._read() as conn:
            return fetch_all(conn, events, query, EventRecord)

    # -- approvals ---------------------------------------------------------------------------------

    def create_approval(self, record: ApprovalRecord) -> None:
        with self._write() as conn:
            conn.execute(*insert(approvals, record.model_dump()))

    def get_approval(self, request_id: str) -> ApprovalRecord | None:
        with self._read() as conn:
            return fetch_one(conn, approvals, select(approvals, {"id": request_id}), ApprovalRecord)

    def approval_for_deployment(self, deployment_id: str) -> ApprovalRecord | None:
        """The latest approval request of the deployment, if any."""
        query = select(approvals, {"deployment_id": deployment_id}, order_by=("-requested_at", "-id"), limit=1)
        with self._read() as conn:
            return fetch_one(conn, approvals, query, ApprovalRecord)

    def pending_approvals(
        self, service: str | None = None, environment: str | None = None
    ) -> list[ApprovalRecord]:
        """Requests still ``pending`` (oldest first), whether or not their ``expires_at`` has passed."""
        query = select(approvals, {"service": service, "environment": environment, "status": "pending"},
                       order_by=("requested_at", "id"))
        with self._read() as conn:
            return fetch_all(conn, approvals, query, ApprovalRecord)

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
            'UPDATE approvals SET "status" = :status, "decided_by" = :by, "decided_at" = :at, "reason" = :reason, '
            '"channel" = :channel, "decided_via" = :via WHERE "id" = :id AND "status" = \'pending\''
        )
        values = {"status": status, "by": by, "at": as_utc(at), "reason": reason, "channel": channel,
                  "via": via, "id": request_id}
        with self._write() as conn:
            won = conn.execute(statement, values).rowcount == 1
            record = fetch_one(conn, approvals, select(approvals, {"id": request_id}), ApprovalRecord)
        if record is None:
            raise KeyError(request_id)
        return record, won

    def set_approval_message(self, request_id: str, slack_channel: str, slack_ts: str) -> None:
        statement = 'UPDATE approvals SET "slack_channel" = :channel, "slack_ts" = :ts WHERE "id" = :id'
        with self._write() as conn:
            if conn.execute(statement, {"channel": slack_channel, "ts": slack_ts, "id": request_id}).rowcount != 1:
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
            'UPDATE locks SET "holder" = :holder, '
            '"acquired_at" = CASE WHEN "deployment_id" = :deployment_id THEN "acquired_at" ELSE :now END, '
            '"deployment_id" = :deployment_id, "expires_at" = :expires_at, "host" = :host, "pid" = :pid, '
            '"boot_id" = :boot_id '
            'WHERE "key" = :key AND ("expires_at" <= :now OR "deployment_id" = :deployment_id)'
        )
        values = {"holder": holder, "deployment_id": deployment_id, "now": now, "expires_at": lock.expires_at,
                  "host": host, "pid": pid, "boot_id": boot_id, "key": key}
        for _attempt in range(5):  # only loops if the lock is released between our two statements
            if self._insert_lock(lock):
                return lock
            with self._write() as conn:
                taken = conn.execute(takeover, values).rowcount == 1
                current = fetch_one(conn, locks, select(locks, {"key": key}), LockRecord)
            if taken and current is not None:
                return current
            if current is not None:
                raise LockHeld(current)
        raise RuntimeError(f"could not acquire lock {key}: it keeps changing hands")

    def _insert_lock(self, lock: LockRecord) -> bool:
        """Insert the lock row; False if there is one already (the key is the primary key)."""
        try:
            with self._write() as conn:
                conn.execute(*insert(locks, lock.model_dump()))
        except Exception as exc:
            if is_integrity_error(exc):
                return False
            raise
        return True

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
            return lock if self._insert_lock(lock) else None
        if seen.deployment_id == deployment_id:
            lock.acquired_at = seen.acquired_at
        new = lock.model_dump(exclude={"key"})
        assignments = ", ".join(f"{locks.column(name)} = :{name}" for name in new)
        statement = (
            f'UPDATE locks SET {assignments} WHERE "key" = :__key AND "holder" = :__holder '
            f'AND "deployment_id" = :__deployment_id AND "expires_at" = :__expires_at'
        )
        values = {**new, "__key": key, "__holder": seen.holder, "__deployment_id": seen.deployment_id,
                  "__expires_at": seen.expires_at}
        with self._write() as conn:
            return lock if conn.execute(statement, values).rowcount == 1 else None

    def refresh_lock(self, key: str, deployment_id: str, now: datetime, ttl_seconds: float) -> None:
        """Extend our lock. LockHeld if another deployment holds it now; KeyError if nobody does."""
        expires_at = as_utc(now) + timedelta(seconds=ttl_seconds)
        statement = 'UPDATE locks SET "expires_at" = :expires_at WHERE "key" = :key AND "deployment_id" = :deployment_id'
        with self._write() as conn:
            if conn.execute(statement, {"expires_at": expires_at, "key": key,
                                        "deployment_id": deployment_id}).rowcount == 1:
                return
            current = fetch_one(conn, locks, select(locks, {"key": key}), LockRecord)
        if current is None:
            raise KeyError(key)
        raise LockHeld(current)

    def release_lock(self, key: str, deployment_id: str) -> None:
        """Release the lock if ``deployment_id`` owns it; otherwise do nothing."""
        with self._write() as conn:
            conn.execute('DELETE FROM locks WHERE "key" = :key AND "deployment_id" = :deployment_id',
                         {"key": key, "deployment_id": deployment_id})

    def get_lock(self, key: str, now: datetime | None = None) -> LockRecord | None:
        """The lock on ``key``; None when free or (if ``now`` is given) expired."""
        with self._read() as conn:
            lock = fetch_one(conn, locks, select(locks, {"key": key}), LockRecord)
        if lock is None or (now is not None and lock.expires_at <= as_utc(now)):
            return None
        return lock

    # -- investigations ----------------------------------------------------------------------------

    def record_investigation(self, record: InvestigationRecord) -> None:
        with self._write() as conn:
            conn.execute(*insert(investigations, record.model_dump()))

    def list_investigations(self, service: str | None = None, limit: int = 20) -> list[InvestigationRecord]:
        """Newest first (by ``started_at``)."""
        query = select(investigations, {"service": service}, order_by=("-started_at", "-id"), limit=limit)
        with self._read() as conn:
            return fetch_all(conn, investigations, query, InvestigationRecord)
