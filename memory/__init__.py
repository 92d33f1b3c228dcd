"""What runbook remembers: the scratchpad (deployments, events, approvals, locks, investigations)."""

from memory.records import (
    ApprovalRecord,
    DeploymentRecord,
    EventRecord,
    InvestigationRecord,
    LockHeld,
    LockRecord,
)
from memory.scratchpad import Scratchpad

__all__ = [
    "ApprovalRecord",
    "DeploymentRecord",
    "EventRecord",
    "InvestigationRecord",
    "LockHeld",
    "LockRecord",
    "Scratchpad",
]
