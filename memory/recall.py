"""Semantic recall: "has this happened before?", "which runbook covers Redis connection errors?".

A chromadb ``PersistentClient`` under ``<state_dir>/recall/`` (or, for a team, a ``chroma run`` server
named by ``server_url``: ``chromadb.HttpClient``) holds one collection per embedding model
(``recall-<model>``), so vectors of two models never mix. Indexed: a summary of every deployment and
investigation of the scratchpad, and the sections of markdown runbooks and postmortems.

Importing this module is cheap (pydantic only); chromadb and the model load on first use.
Use ``Recall.in_state_dir(state_dir)`` to index and search, or the module functions ``recall`` and
``deploy_runbook_hint`` (read-only for their caller; they index the knowledge folder on first use).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from memory.recall_docs import (
    KNOWLEDGE_KINDS,
    Entry,
    deployment_entry,
    investigation_entry,
    markdown_entries,
    markdown_files,
)
from memory.records import DeploymentRecord, InvestigationRecord

if TYPE_CHECKING:
    from memory.scratchpad import Scratchpad

__all__ = ["KINDS", "Recall", "RecallHit", "bundled_examples", "deploy_runbook_hint", "recall"]

KINDS = (*KNOWLEDGE_KINDS, "deployment", "investigation")
RECALL_DIRNAME = "recall"
SNIPPET_CHARS = 600
_BATCH = 1000


class RecallHit(BaseModel):
    """One thing recalled; ``score`` is the cosine similarity to the query (higher is closer)."""

    id: str
    kind: str  # runbook | postmortem | deployment | investigation
    score: float
    heading: str
    text: str  # the start of what was indexed
    source: str  # the markdown file, or "scratchpad"
    title: str | None = None  # the document's title (knowledge only)
    deployment_id: str | None = None
    investigation_id: str | None = None
    service: str | None = None  # comma-separated when a document is about several
    at: datetime | None = None  # when the deployment or investigation started


def bundled_examples() -> Path:
    """The example runbooks and postmortems that ship with runbook (the default knowledge folder)."""
    return Path(str(resources.files("memory").joinpath("knowledge_examples")))


def _where(
    kinds: Sequence[str] | None, service: str | None, root: str | None = None
) -> dict[str, Any] | None:
    conditions: list[dict[str, Any]] = []
    if kinds:
        unknown = sorted(set(kinds) - set(KINDS))
        if unknown:
            expected = ", ".join(KINDS)
            raise ValueError(f"unknown recall kind(s) {', '.join(unknown)}; expected some of {expected}")
        conditions.append({"kind": {"$in": list(kinds)}})
    if service:
        conditions.append({f"svc:{service}": True})
    if root:
        conditions.append({"root": root})
    if not conditions:
        return None
    return conditions[0] if len(conditions) == 1 else {"$and": conditions}


def _hit(entry_id: str, text: str, meta: dict[str, Any], distance: float) -> RecallHit:
    at = meta.get("at")
    return RecallHit(
        id=entry_id,
        kind=str(meta.get("kind", "")),
        score=round(1.0 - float(distance), 4),
        heading=str(meta.get("trail") or meta.get("heading") or ""),
        text=text[:SNIPPET_CHARS],
        source=str(meta.get("source", "")),
        title=meta.get("title"),
        deployment_id=meta.get("deployment_id"),
        investigation_id=meta.get("investigation_id"),
        service=meta.get("service") or None,
        at=datetime.fromisoformat(at) if at else None,
    )


class Recall:
    """The recall index in ``directory``. Pass ``embedding_function`` to override the configured model."""

    def __init__(
        self,
        directory: Path | str,
        embedding: str = "auto",
        vocab_path: str | Path | None = None,
        embedding_function: Any = None,
        server_url: str | None = None,
    ) -> None:
        import chromadb
        from chromadb.config import Settings

        from memory.embedding import embedding_id, make_embedding

        self.directory = Path(directory)
        function = embedding_function or make_embedding(embedding, vocab_path)  # type: ignore[arg-type]
        self.model = embedding_id(function)
        settings = Settings(anonymized_telemetry=False)
        if server_url:
            host, port, ssl = _server_address(server_url)
            self._client: Any = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=settings)
        else:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._client = chromadb.PersistentClient(path=str(self.directory), settings=settings)
        self._collection = self._client.get_or_create_collection(
            name=f"recall-{self.model}",
            embedding_function=function,
            configuration={"hnsw": {"space": "cosine"}},
        )

    @classmethod
    def in_state_dir(cls, state_dir: Path | str, **options: Any) -> Recall:
        return cls(Path(state_dir) / RECALL_DIRNAME, **options)

    # -- indexing ----------------------------------------------------------------------------------

    def index_deployment(self, record: DeploymentRecord) -> None:
        """Index (or re-index, same id) the summary of one deployment or rollback."""
        self._upsert([deployment_entry(record)])

    def index_investigation(self, record: InvestigationRecord) -> None:
        self._upsert([investigation_entry(record)])

    def sync_from_scratchpad(self, scratchpad: Scratchpad, limit: int = 100_000) -> int:
        """Index every deployment and investigation not yet indexed (or changed since); returns how many."""
        entries = [deployment_entry(r) for r in scratchpad.list_deployments(limit=limit)]
        entries += [investigation_entry(r) for r in scratchpad.list_investigations(limit=limit)]
        return self._upsert(entries)

    def add_knowledge(self, path: Path | str, max_chars: int = 1500) -> int:
        """Index the markdown file or folder ``path``; sections gone from it since are dropped.

        Returns how many sections were (re)written; unchanged ones are skipped.
        """
        path = Path(path).resolve()
        if not path.exists():
            raise FileNotFoundError(f"no such file or folder: {path}")
        files = markdown_files(path)
        entries = [e for file in files for e in markdown_entries(file, path, max_chars)]
        stale = set(self._ids(_where(None, None, root=str(path)))) - {e.id for e in entries}
        if stale:
            self._collection.delete(ids=sorted(stale))
        return self._upsert(entries)

    def add_entries(self, entries: Iterable[Entry]) -> int:
        """Index prepared entries (benchmarks and tests); same id replaces."""
        return self._upsert(list(entries))

    def _ids(self, where: dict[str, Any] | None) -> list[str]:
        return list(self._collection.get(where=where, include=[])["ids"])

    def _upsert(self, entries: list[Entry]) -> int:
        if not entries:
            return 0
        known: dict[str, str] = {}
        for start in range(0, len(entries), _BATCH):
            batch = [e.id for e in entries[start : start + _BATCH]]
            found = self._collection.get(ids=batch, include=["metadatas"])
            for entry_id, meta in zip(found["ids"], found["metadatas"] or [], strict=False):
                known[entry_id] = str((meta or {}).get("hash", ""))
        changed = list({e.id: e for e in entries if known.get(e.id) != e.metadata["hash"]}.values())
        for start in range(0, len(changed), _BATCH):
            batch_entries = changed[start : start + _BATCH]
            self._collection.upsert(
                ids=[e.id for e in batch_entries],
                documents=[e.text for e in batch_entries],
                metadatas=[e.metadata for e in batch_entries],
            )
        return len(changed)

    # -- reading -----------------------------------------------------------------------------------

    def count(self, kinds: Sequence[str] | None = None) -> int:
        if not kinds:
            return int(self._collection.count())
        return len(self._ids(_where(kinds, None)))

    def has_root(self, path: Path | str) -> bool:
        """Whether anything of the file or folder ``path`` is indexed."""
        found = self._collection.get(where={"root": str(Path(path).resolve())}, limit=1, include=[])
        return bool(found["ids"])

    def recall(
        self, query: str, kinds: Sequence[str] | None = None, service: str | None = None, limit: int = 5
    ) -> list[RecallHit]:
        """The ``limit`` entries closest in meaning to ``query``, best first."""
        where = _where(kinds, service)
        if not query.strip() or limit <= 0:
            return []
        result = self._collection.query(
            query_texts=[query], n_results=limit, where=where, include=["documents", "metadatas", "distances"]
        )
        ids = result["ids"][0]
        documents = (result["documents"] or [[]])[0]
        metadatas = (result["metadatas"] or [[]])[0]
        distances = (result["distances"] or [[]])[0]
        return [
            _hit(i, doc or "", dict(meta or {}), dist)
            for i, doc, meta, dist in zip(ids, documents, metadatas, distances, strict=False)
        ]

    def deploy_runbook_hint(self, service: str) -> RecallHit | None:
        """The runbook section about deploying ``service``, if the knowledge has one."""
        hits = self.recall(
            f"how to deploy {service}: deploy runbook, pre-checks, rollout, rollback",
            kinds=["runbook"],
            service=service,
            limit=5,
        )
        for hit in hits:
            if "deploy" in f"{hit.title} {hit.heading}".lower():
                return hit
        return None


def _server_address(url: str) -> tuple[str, int, bool]:
    """(host, port, ssl) of a chroma server URL such as http://127.0.0.1:8000."""
    from urllib.parse import urlsplit

    parts = urlsplit(url if "://" in url else f"http://{url}")
    if not parts.hostname:
        raise ValueError(f"knowledge.server_url {url!r} names no host (expected http://HOST:PORT)")
    ssl = parts.scheme == "https"
    return parts.hostname, parts.port or (443 if ssl else 8000), ssl


# Indexes open in this process, newest last; a long-running process (the bot) reuses one, and only a
# few stay open (each holds a chromadb client and an embedding session).
_OPEN: dict[tuple[str, str, str, str], Recall] = {}
_KEEP_OPEN = 2


def _open(state_dir: Path | str, folder: Path | str | None, embedding: str, vocab_path: str | None,
          server_url: str | None = None) -> Recall:
    key = (str(Path(state_dir).resolve()), embedding, str(vocab_path), str(server_url))
    index = _OPEN.pop(key, None)
    if index is None:
        index = Recall.in_state_dir(state_dir, embedding=embedding, vocab_path=vocab_path, server_url=server_url)
    _OPEN[key] = index
    while len(_OPEN) > _KEEP_OPEN:
        _OPEN.pop(next(iter(_OPEN)))
    knowledge = Path(folder) if folder else bundled_examples()
    if knowledge.exists() and not index.has_root(knowledge):
        index.add_knowledge(knowledge)
    return index


def ensure_indexed(
    *,
    state_dir: Path | str = ".runbook",
    folder: Path | str | None = None,
    embedding: str = "auto",
    vocab_path: str | None = None,
    server_url: str | None = None,
) -> int:
    """Index the knowledge folder now, if it is not yet (so a later first search is fast); returns the entry count."""
    return _open(state_dir, folder, embedding, vocab_path, server_url).count()


def recall(
    query: str,
    kinds: Sequence[str] | None = None,
    service: str | None = None,
    limit: int = 5,
    *,
    state_dir: Path | str = ".runbook",
    folder: Path | str | None = None,
    embedding: str = "auto",
    vocab_path: str | None = None,
) -> list[RecallHit]:
    """Search what runbook remembers (a read-only tool for the agent).

    ``kinds``: some of runbook, postmortem, deployment, investigation (default: all). ``service``:
    only entries about that service. ``folder``: the knowledge folder (default: the bundled examples),
    indexed on first use if nothing of it is yet.
    """
    return _open(state_dir, folder, embedding, vocab_path).recall(query, kinds, service, limit)


def deploy_runbook_hint(
    service: str,
    *,
    state_dir: Path | str = ".runbook",
    folder: Path | str | None = None,
    embedding: str = "auto",
    vocab_path: str | None = None,
) -> RecallHit | None:
    """The deploy runbook of ``service`` (for the deploy pre-checks to show as a hint), or None."""
    return _open(state_dir, folder, embedding, vocab_path).deploy_runbook_hint(service)
