"""How tool results read to a person: one line per deployment, the versions one may deploy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from memory.records import DeploymentRecord
    from tools.models import Image


def history_line(r: DeploymentRecord) -> str:
    """`2026-11-30 10:02 UTC dep-… deploy checkout-api (production) 1.2.2 → 1.2.3: refused — 1.2.3 already runs …`"""
    outcome = getattr(r.status, "value", r.status)
    why = r.detail or (r.status.meaning if hasattr(r.status, "meaning") and not getattr(r.status, "ok", True) else "")
    line = (f"{r.started_at:%Y-%m-%d %H:%M} UTC {r.id} {r.kind} {r.service} ({r.environment})"
            f" {r.from_version or '?'} → {r.to_version}: {outcome}")
    if why:
        line += f" — {why}"
    line += f", by {r.requester}"
    if r.approver:
        line += f", approved by {r.approver}"
    return line


def versions_text(service: str, images: Sequence[Image], running: dict[str, str]) -> str:
    runs = ", ".join(f"{version} in {env}" for env, version in sorted(running.items()))
    tags = ", ".join(f"{i.tag} (pushed {i.pushed_at:%Y-%m-%d})" for i in images)
    return f"{service}: recent image tags, newest first: {tags}." + (f" Running: {runs}." if runs else "")
