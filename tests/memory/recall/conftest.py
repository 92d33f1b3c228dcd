"""Fixtures for the recall tests: a recall index in the test's own directory, and a small vocabulary."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from memory.recall import Recall

# Enough of a BERT-style vocabulary for the tokenizer: special tokens at their usual ids, then words.
WORDS = "redis connection error errors memory deploy the a of to api checkout payments database pool latency"


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Recall]:
    yield Recall.in_state_dir(tmp_path / "state")


@pytest.fixture
def small_vocab(tmp_path: Path) -> Path:
    tokens = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens += WORDS.split() + ["##s", "##ing"]
    path = tmp_path / "vocab.txt"
    path.write_text("\n".join(tokens) + "\n")
    return path


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def write() -> Callable[[Path, str], Path]:
    """Write a text file (making its folders); returns its path."""
    return _write
