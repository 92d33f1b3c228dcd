"""runbook's own version, as the installed distribution says it."""

from __future__ import annotations

DISTRIBUTION = "runbook-sre"  # the package's name on the index; the command is `runbook`


def runbook_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"
