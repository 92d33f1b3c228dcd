"""Where recall finds its index and what it indexes: built once by the runtime from the config."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RecallSettings:
    state_dir: Path  # a local index lives in state_dir/recall
    enabled: bool = True
    folder: Path | None = None  # the knowledge folder; None: the examples bundled with runbook
    embedding: str = "auto"
    vocab_path: str | None = None
    server_url: str | None = None  # a shared `chroma run` server instead of the local index
    database_url: str | None = None  # the scratchpad whose deployments and investigations are indexed
    max_section_chars: int = 1500
    wait_seconds: float = 3.0  # how long a caller waits for a lookup before answering without it
