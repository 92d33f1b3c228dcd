"""How a deploy (or rollback) ended: one vocabulary for skills, events, records, renderers and the model.

The values are the `status` strings the scratchpad has always stored, so old records read back as
members. Each member knows its exit code, its headline and, in a few words, what it means: a tool
result for the model says "expired: nobody decided in time", never just an exit code.
"""

from __future__ import annotations

from enum import StrEnum


class Outcome(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    DRY_RUN = "dry_run"
    REFUSED = "refused"
    CHECKS_FAILED = "checks_failed"
    CONFIG_INVALID = "config_invalid"
    CANARY_FAILED = "canary_failed"
    DENIED = "denied"
    EXPIRED = "expired"
    IMAGE_CHANGED = "image_changed"
    ROLLED_BACK = "validation_failed_rolled_back"
    LEFT_RUNNING = "validation_failed"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    TERMINATED = "terminated"
    HUNG_UP = "hung_up"
    ABANDONED = "abandoned"

    @property
    def exit_code(self) -> int:
        return _EXIT_CODES[self]

    @property
    def headline(self) -> str:
        return _HEADLINES[self]

    @property
    def meaning(self) -> str:
        """What happened, in a few words a person (or the model) reads without the docs."""
        return _MEANINGS[self]

    @property
    def finished(self) -> bool:
        return self is not Outcome.RUNNING

    @property
    def ok(self) -> bool:
        return self in (Outcome.SUCCEEDED, Outcome.DRY_RUN)

    @property
    def changed_nothing(self) -> bool:
        """Ended before anything was started on the platform (no canary, no rollout)."""
        return self in (Outcome.DRY_RUN, Outcome.REFUSED, Outcome.CHECKS_FAILED, Outcome.CONFIG_INVALID)

    @classmethod
    def for_signal(cls, signum: int | None) -> Outcome:
        """The outcome of a deploy stopped by a signal (None: Ctrl-C)."""
        return {1: cls.HUNG_UP, 15: cls.TERMINATED}.get(signum or 2, cls.INTERRUPTED)


_EXIT_CODES = {
    Outcome.RUNNING: 0,
    Outcome.SUCCEEDED: 0,
    Outcome.DRY_RUN: 0,
    Outcome.REFUSED: 2,
    Outcome.CHECKS_FAILED: 3,
    Outcome.CONFIG_INVALID: 3,
    Outcome.CANARY_FAILED: 4,
    Outcome.DENIED: 5,
    Outcome.EXPIRED: 5,
    Outcome.IMAGE_CHANGED: 5,
    Outcome.ROLLED_BACK: 6,
    Outcome.LEFT_RUNNING: 7,
    Outcome.FAILED: 1,
    Outcome.INTERRUPTED: 130,
    Outcome.TERMINATED: 143,
    Outcome.HUNG_UP: 129,
    Outcome.ABANDONED: 1,
}

_HEADLINES = {
    Outcome.RUNNING: "DEPLOYMENT IN PROGRESS",
    Outcome.SUCCEEDED: "DEPLOYMENT SUCCESSFUL",
    Outcome.DRY_RUN: "DRY RUN — NOTHING CHANGED",
    Outcome.REFUSED: "DEPLOYMENT REFUSED — NOTHING CHANGED",
    Outcome.CHECKS_FAILED: "PRE-DEPLOYMENT CHECKS FAILED — NOTHING CHANGED",
    Outcome.CONFIG_INVALID: "CONFIGURATION INVALID — NOTHING CHANGED",
    Outcome.CANARY_FAILED: "CANARY FAILED — DEPLOYMENT ABORTED",
    Outcome.DENIED: "DEPLOYMENT DENIED",
    Outcome.EXPIRED: "APPROVAL EXPIRED — DEPLOYMENT ABORTED",
    Outcome.IMAGE_CHANGED: "IMAGE CHANGED AFTER APPROVAL — DEPLOYMENT ABORTED",
    Outcome.ROLLED_BACK: "DEPLOYMENT VALIDATION FAILED — ROLLED BACK",
    Outcome.LEFT_RUNNING: "DEPLOYMENT VALIDATION FAILED",
    Outcome.FAILED: "DEPLOYMENT FAILED",
    Outcome.INTERRUPTED: "DEPLOYMENT INTERRUPTED",
    Outcome.TERMINATED: "DEPLOYMENT STOPPED (SIGTERM)",
    Outcome.HUNG_UP: "DEPLOYMENT STOPPED (SIGHUP)",
    Outcome.ABANDONED: "DEPLOYMENT ABANDONED",
}

_MEANINGS = {
    Outcome.RUNNING: "still running",
    Outcome.SUCCEEDED: "deployed and validated",
    Outcome.DRY_RUN: "dry run: checked and planned, nothing changed",
    Outcome.REFUSED: "refused before anything ran (e.g. that version already runs there)",
    Outcome.CHECKS_FAILED: "a pre-deployment check failed; nothing changed",
    Outcome.CONFIG_INVALID: "the new configuration failed validation; nothing changed",
    Outcome.CANARY_FAILED: "the canary was judged unhealthy or inconclusive and removed",
    Outcome.DENIED: "a person denied the approval; the canary was removed",
    Outcome.EXPIRED: "nobody decided before the approval request expired; the canary was removed",
    Outcome.IMAGE_CHANGED: "the tag was pushed again after the approval: the approval covers other bytes, so"
                           " nothing rolled out and the canary was removed",
    Outcome.ROLLED_BACK: "the new version failed post-deploy validation and was rolled back",
    Outcome.LEFT_RUNNING: "the new version failed post-deploy validation and is still running",
    Outcome.FAILED: "stopped by an unexpected error",
    Outcome.INTERRUPTED: "interrupted (Ctrl-C)",
    Outcome.TERMINATED: "stopped by SIGTERM",
    Outcome.HUNG_UP: "stopped because its terminal hung up (SIGHUP)",
    Outcome.ABANDONED: "closed by `runbook resume --abort` after its process died",
}


class Stopped(BaseException):
    """The process was told to stop: Ctrl-C (SIGINT), SIGTERM or SIGHUP. A deploy cleans up on the way
    out (canary removed, request withdrawn, lock released) and ends with the signal's outcome. Not a
    KeyboardInterrupt, which the CLI framework would swallow into its own exit code."""

    def __init__(self, signum: int | None = None) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def outcome(self) -> Outcome:
        return Outcome.for_signal(self.signum)

    @property
    def exit_code(self) -> int:
        return self.outcome.exit_code

    @property
    def description(self) -> str:
        return {Outcome.TERMINATED: "Stopped (SIGTERM)", Outcome.HUNG_UP: "Stopped (SIGHUP: the terminal hung up)"
                }.get(self.outcome, "Interrupted")
