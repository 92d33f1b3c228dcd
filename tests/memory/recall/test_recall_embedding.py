"""The offline embedding functions: the lexical fallback, MiniLM on onnxruntime, and choosing one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import memory.embedding as embedding
from memory.embedding import HashingEmbedding, find_vocab, make_embedding
from memory.embedding_minilm import MiniLMEmbedding, minilm_model_path


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b))


def test_hashing_is_deterministic_unit_length_and_lexically_sensible() -> None:
    ef = HashingEmbedding()
    redis, redis2, oom = ef(["Redis connection errors", "redis connections refused", "Out of memory kills"])
    assert redis.shape == (512,)
    assert np.linalg.norm(redis) == pytest.approx(1.0, abs=1e-5)
    assert np.array_equal(redis, ef(["Redis connection errors"])[0])
    assert _cos(redis, redis2) > _cos(redis, oom)


def test_hashing_expands_common_abbreviations() -> None:
    ef = HashingEmbedding()
    oom, memory, redis = ef(["OOM", "out of memory", "redis"])
    assert _cos(oom, memory) > 0.5 > _cos(oom, redis)


def test_hashing_embeds_an_empty_text() -> None:
    (vector,) = HashingEmbedding()([""])
    assert np.linalg.norm(vector) == pytest.approx(1.0)


def test_the_model_ships_in_the_installed_package() -> None:
    path = minilm_model_path()
    assert path.name == "model.onnx" and path.stat().st_size > 10_000_000


def test_minilm_runs_offline_mean_pooled_and_normalised(small_vocab: Path) -> None:
    ef = MiniLMEmbedding(small_vocab)
    short, long = ef(["redis connection error", "deploy checkout api to the database pool " * 4])
    assert short.shape == (384,)
    assert np.linalg.norm(short) == pytest.approx(1.0, abs=1e-5)
    # Padding in a batch does not change a text's vector: pooling honours the attention mask.
    (alone,) = ef(["redis connection error"])
    assert np.allclose(alone, short, atol=1e-5)
    assert _cos(short, long) < 0.999


def test_minilm_round_trips_through_its_chromadb_config(small_vocab: Path) -> None:
    ef = MiniLMEmbedding(small_vocab)
    again = MiniLMEmbedding.build_from_config(ef.get_config())
    assert again.vocab_path == ef.vocab_path and again.model_path == ef.model_path
    assert HashingEmbedding.build_from_config(HashingEmbedding(256).get_config()).dimensions == 256


def test_minilm_without_its_vocabulary_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="vocabulary"):
        MiniLMEmbedding(tmp_path / "missing.txt")(["hello"])


def test_find_vocab_takes_a_configured_path(small_vocab: Path, tmp_path: Path) -> None:
    assert find_vocab(small_vocab) == small_vocab
    with pytest.raises(FileNotFoundError, match="vocab_path"):
        find_vocab(tmp_path / "nope.txt")


def test_auto_uses_minilm_when_a_vocabulary_is_configured(small_vocab: Path) -> None:
    assert isinstance(make_embedding("auto", small_vocab), MiniLMEmbedding)
    assert isinstance(make_embedding("hashing", small_vocab), HashingEmbedding)


def test_without_a_vocabulary_auto_falls_back_and_minilm_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(embedding, "find_vocab", lambda path=None: None)
    assert isinstance(make_embedding("auto"), HashingEmbedding)
    with pytest.raises(FileNotFoundError, match="vocab_path"):
        make_embedding("minilm")
