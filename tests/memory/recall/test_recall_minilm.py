"""The real MiniLM: the tokenizer shipped with runbook and the installed int8 model give meaningful
embeddings. Nothing else needs installing: every install has both."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from memory.embedding import find_vocab, make_embedding
from memory.embedding_minilm import MiniLMEmbedding


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedding:
    function = make_embedding("auto")
    assert isinstance(function, MiniLMEmbedding)
    return function


def test_auto_finds_the_tokenizer_shipped_with_runbook() -> None:
    vocab = find_vocab()
    assert vocab is not None and vocab.name == "tokenizer.json" and vocab.parent.name == "minilm"
    assert (vocab.parent / "LICENSE").is_file() and (vocab.parent / "NOTICE").is_file()


def test_paraphrases_are_closer_than_unrelated_texts(minilm: MiniLMEmbedding) -> None:
    pool, acquire, tls, x509 = np.array(
        minilm(
            [
                "database connection pool exhausted",
                "could not acquire a DB connection",
                "TLS certificate expired",
                "x509: certificate has expired or is not yet valid",
            ]
        )
    )
    # Measured with the all-MiniLM-L6-v2 reference: about 0.64 and 0.09 for the first two pairs.
    assert float(pool @ acquire) > 0.5
    assert float(pool @ tls) < 0.25 and float(acquire @ tls) < 0.25
    assert float(tls @ x509) > float(tls @ pool) + 0.3
    # No word in common, still related: what a lexical embedding cannot do.
    oom, kernel = np.array(minilm(["out of memory", "the kernel killed the process for using too much RAM"]))
    unrelated = np.array(minilm(["rotate the TLS certificate"]))[0]
    assert float(oom @ kernel) > float(oom @ unrelated) + 0.1


def test_tokenizer_json_and_vocab_txt_embed_alike(minilm: MiniLMEmbedding, tmp_path: Path) -> None:
    """The shipped tokenizer.json and a bare vocab.txt of the same words (knowledge.vocab_path) give
    sentence-transformers' tokenization: lower-cased, accents stripped."""
    vocab = json.loads(minilm.vocab_path.read_text())["model"]["vocab"]
    vocab_txt = tmp_path / "vocab.txt"
    vocab_txt.write_text("\n".join(sorted(vocab, key=vocab.__getitem__)) + "\n")
    texts = ["Café RÉSUMÉ of the Redis outage", "ERR max number of clients reached", "word " * 400]
    from_json = np.array(minilm(texts))
    from_txt = np.array(MiniLMEmbedding(vocab_txt)(texts))
    assert np.allclose(from_json, from_txt, atol=1e-5)
    assert np.allclose(from_json[0], np.array(minilm(["cafe resume of the redis outage"]))[0], atol=1e-5)


def test_long_texts_are_truncated_at_256_tokens_and_batches_keep_their_order(minilm: MiniLMEmbedding) -> None:
    head = "the redis connection pool was exhausted during the deploy " * 30  # > 256 tokens
    (cut, longer) = minilm([head, head + "then the TLS certificate expired " * 50])
    assert np.allclose(cut, longer, atol=1e-5)  # nothing past token 256 counts
    texts = ["short", "a much longer text about database connection pools " * 5, "middle length text here"]
    together = np.array(minilm(texts))
    alone = np.array([minilm([text])[0] for text in texts])
    assert np.allclose(together, alone, atol=1e-5)
