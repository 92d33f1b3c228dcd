"""What goes into the recall index: markdown sections, and one summary per deployment or investigation.

Pure functions over paths and records; no chromadb here. Every entry has a stable id (so indexing is
idempotent), the text to embed, and flat metadata (chromadb takes str/int/float/bool values only).
A service an entry is about is kept as the key ``svc:<name>`` = True, so several can be filtered on.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from memory.records import DeploymentRecord, InvestigationRecord

__all__ = [
    "KNOWLEDGE_KINDS",
    "Entry",
    "deployment_entry",
    "investigation_entry",
    "markdown_entries",
    "markdown_files",
]

KNOWLEDGE_KINDS = ("runbook", "postmortem")
_HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)


@dataclass
class Entry:
    id: str
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.metadata["hash"] = hashlib.sha1(self.text.encode()).hexdigest()[:16]


def _services(names: list[str]) -> dict[str, Any]:
    return {f"svc:{name}": True for name in names if name}


def markdown_files(path: Path) -> list[Path]:
    """``path`` itself if it is a markdown file, else every ``*.md`` below it (sorted)."""
    path = Path(path)
    if path.is_file():
        return [path]
    return sorted(p for p in path.rglob("*.md") if p.is_file())


def _front_matter(text: str) -> tuple[dict[str, Any], str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        data = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return {}, text
    return (data if isinstance(data, dict) else {}), text[match.end() :]


def _kind(meta: dict[str, Any], path: Path, title: str) -> str:
    declared = str(meta.get("kind", "")).lower()
    if declared in KNOWLEDGE_KINDS:
        return declared
    hint = f"{path.as_posix()} {title}".lower()
    return "postmortem" if "postmortem" in hint or "post-mortem" in hint or "incident" in hint else "runbook"


def _sections(body: str) -> list[tuple[list[str], str]]:
    """(heading trail, text) for each part of the document, split at headings of level 1-3."""
    trail: list[str] = []
    current: list[str] = []
    out: list[tuple[list[str], str]] = [([], "")]
    in_fence = False
    for line in body.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            out[-1] = (out[-1][0], "\n".join(current).strip())
            level = len(match.group(1))
            trail = trail[: level - 1] + [""] * max(0, level - 1 - len(trail)) + [match.group(2).strip()]
            out.append(([t for t in trail if t], ""))
            current = []
        else:
            current.append(line)
    out[-1] = (out[-1][0], "\n".join(current).strip())
    return [(heads, text) for heads, text in out if text]


def _chunks(text: str, limit: int) -> list[str]:
    """``text`` cut at paragraph boundaries into pieces of at most about ``limit`` characters."""
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for paragraph in text.split("\n\n"):
        if current and len(current) + len(paragraph) + 2 > limit:
            pieces.append(current)
            current = ""
        current = f"{current}\n\n{paragraph}" if current else paragraph
    if current:
        pieces.append(current)
    return [piece[: limit * 2] for piece in pieces]


def markdown_entries(path: Path, root: Path, max_chars: int = 1500) -> list[Entry]:
    """The sections of one markdown file, each with its source path, heading and kind.

    Optional YAML front matter: ``kind`` (runbook | postmortem), ``services`` (list), ``title``.
    ``root`` is what the file was indexed as part of (a folder, or the file itself).
    """
    path = Path(path).resolve()
    meta, body = _front_matter(path.read_text(encoding="utf-8", errors="replace"))
    sections = _sections(body)
    title = str(meta.get("title") or next((heads[0] for heads, _ in sections if heads), path.stem))
    kind = _kind(meta, path, title)
    services = meta.get("services") or []
    services = [str(s) for s in (services if isinstance(services, list) else [services])]
    key = hashlib.sha1(path.as_posix().encode()).hexdigest()[:12]
    entries: list[Entry] = []
    for heads, text in sections:
        heading = " > ".join(heads) if heads else title
        for chunk in _chunks(text, max_chars):
            entries.append(
                Entry(
                    id=f"doc:{key}:{len(entries)}",
                    text=f"{heading}\n\n{chunk}",
                    metadata={
                        "kind": kind,
                        "source": str(path),
                        "name": path.name,
                        "root": str(Path(root).resolve()),
                        "title": title,
                        "heading": heads[-1] if heads else title,
                        "trail": heading,
                        "service": ",".join(services),
                        **_services(services),
                    },
                )
            )
    return entries


def _metrics(values: dict[str, float | None]) -> str:
    return ", ".join(f"{name} {value:g}" for name, value in values.items() if value is not None) or "none"


def deployment_entry(record: DeploymentRecord) -> Entry:
    what = "Rollback" if record.kind == "rollback" else "Deployment"
    origin = record.from_version or "nothing"
    who = f"requested by {record.requester}" + (f", approved by {record.approver}" if record.approver else "")
    text = (
        f"{what} {record.id} of {record.service} from {origin} to {record.to_version} in"
        f" {record.environment}, {who}, started {record.started_at:%Y-%m-%d %H:%M} UTC."
        f" Outcome: {record.status.replace('_', ' ')}."
        + (f" {record.detail}" if record.detail else "")
        + f" Metrics before: {_metrics(record.metrics_before)}. After: {_metrics(record.metrics_after)}."
    )
    return Entry(
        id=f"deployment:{record.id}",
        text=text,
        metadata={
            "kind": "deployment",
            "source": "scratchpad",
            "deployment_id": record.id,
            "heading": f"{what} of {record.service} {record.to_version} ({record.status})",
            "service": record.service,
            "environment": record.environment,
            "status": record.status,
            "at": record.started_at.isoformat(),
            **_services([record.service]),
        },
    )


def investigation_entry(record: InvestigationRecord) -> Entry:
    findings = json.dumps(record.findings, default=str, sort_keys=True)
    where = f" in {record.environment}" if record.environment else ""
    text = (
        f"Investigation {record.id} of {record.service}{where} on {record.started_at:%Y-%m-%d %H:%M} UTC."
        f" Question: {record.question} Summary: {record.summary} Findings: {findings[:1500]}"
    )
    return Entry(
        id=f"investigation:{record.id}",
        text=text,
        metadata={
            "kind": "investigation",
            "source": "scratchpad",
            "investigation_id": record.id,
            "heading": f"Investigation of {record.service}: {record.question[:80]}",
            "service": record.service,
            "environment": record.environment or "",
            "at": record.started_at.isoformat(),
            **_services([record.service]),
        },
    )
