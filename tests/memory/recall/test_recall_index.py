"""The chromadb index: knowledge and scratchpad indexed idempotently, searched with filters, never online."""

from __future__ import annotations

from pathlib import Path

import pytest

from memory import recall as recall_module
from memory.recall import Recall, bundled_examples, deploy_runbook_hint, recall

SERVICES = ("checkout-api", "payments-api", "inventory-api", "notifications-worker")


@pytest.fixture
def no_default_embedding(monkeypatch: pytest.MonkeyPatch) -> None:
    """chromadb's default embedding function downloads a model: make any use of it fail the test."""
    from chromadb.utils import embedding_functions

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("chromadb's default embedding function was used")

    for name in ("DefaultEmbeddingFunction", "ONNXMiniLM_L6_V2"):
        cls = getattr(embedding_functions, name, None)
        if cls is not None:
            monkeypatch.setattr(cls, "__call__", refuse)


def test_knowledge_is_indexed_once_and_searchable(index: Recall, no_default_embedding: None) -> None:
    written = index.add_knowledge(bundled_examples())
    assert written >= 50 and index.count() == written
    assert index.add_knowledge(bundled_examples()) == 0  # idempotent
    hits = index.recall("which runbook covers Redis connection errors?", limit=3)
    assert hits[0].source.endswith("redis-connection-errors.md")
    assert hits[0].kind == "runbook" and -1.0 <= hits[0].score <= 1.0
    assert hits == sorted(hits, key=lambda h: -h.score)


def test_edited_and_removed_sections_are_replaced(index: Recall, tmp_path: Path, write) -> None:
    folder = tmp_path / "kb"
    doc = write(folder / "a.md", "# A\n\nalpha\n\n## One\n\nfirst\n\n## Two\n\nsecond\n")
    write(folder / "b.md", "# B\n\nbravo\n")
    assert index.add_knowledge(folder) == 4
    doc.write_text("# A\n\nalpha\n\n## One\n\nfirst, edited\n")
    assert index.add_knowledge(folder) == 1
    (folder / "b.md").unlink()
    index.add_knowledge(folder)
    assert index.count() == 2
    assert index.has_root(folder) and not index.has_root(tmp_path / "elsewhere")


def test_filters_by_kind_and_service(index: Recall) -> None:
    index.add_knowledge(bundled_examples())
    posts = index.recall("what went wrong", kinds=["postmortem"], limit=10)
    assert posts and {h.kind for h in posts} == {"postmortem"}
    payments = index.recall("deploy", service="payments-api", limit=10)
    assert payments and all("payments-api" in (h.service or "") for h in payments)
    with pytest.raises(ValueError, match="unknown recall kind"):
        index.recall("x", kinds=["nonsense"])
    assert index.recall("   ") == []


def test_deployments_are_indexed_when_logged_and_recalled(index: Recall, make_deployment) -> None:
    index.add_knowledge(bundled_examples())
    failed = make_deployment(
        id="dep-pay-1", service="payments-api", to_version="2.3.0", status="validation_failed_rolled_back",
        detail="webhook 401s after deploy, rolled back to 2.2.7",
    )
    index.index_deployment(failed)
    index.index_deployment(make_deployment(id="dep-chk-1", status="succeeded"))
    question = "what went wrong the last time we deployed payments-api?"
    hits = index.recall(question, kinds=["deployment"], limit=2)
    assert hits[0].deployment_id == "dep-pay-1" and hits[0].source == "scratchpad"
    assert hits[0].at == failed.started_at and hits[0].service == "payments-api"
    index.index_deployment(failed)  # same id: replaced, not duplicated
    assert index.count(["deployment"]) == 2


def test_sync_from_scratchpad_is_idempotent_and_follows_updates(index: Recall, pad, make_deployment) -> None:
    for n in range(3):
        pad.record_deployment(make_deployment(id=f"dep-{n}", minutes=n))
    assert index.sync_from_scratchpad(pad) == 3
    assert index.sync_from_scratchpad(pad) == 0
    pad.update_deployment("dep-1", status="canary_failed", detail="p99 doubled on the canary")
    assert index.sync_from_scratchpad(pad) == 1
    (hit,) = index.recall("canary failed p99 doubled", kinds=["deployment"], limit=1)
    assert hit.deployment_id == "dep-1"


def test_the_index_persists_under_the_state_dir(tmp_path: Path, make_deployment) -> None:
    Recall.in_state_dir(tmp_path / "state").index_deployment(make_deployment(id="dep-keep"))
    assert (tmp_path / "state" / "recall").is_dir()
    again = Recall.in_state_dir(tmp_path / "state")
    assert again.recall("checkout-api deployment", limit=1)[0].deployment_id == "dep-keep"


@pytest.mark.parametrize("service", SERVICES)
def test_deploy_runbook_hint_names_the_services_runbook(index: Recall, service: str) -> None:
    index.add_knowledge(bundled_examples())
    hint = index.deploy_runbook_hint(service)
    assert hint is not None and hint.source.endswith(f"deploy-{service}.md")


def test_no_hint_for_a_service_without_a_runbook(index: Recall) -> None:
    index.add_knowledge(bundled_examples())
    assert index.deploy_runbook_hint("billing-api") is None


def test_module_functions_index_the_bundled_examples_on_first_use(tmp_path: Path) -> None:
    recall_module._OPEN.clear()
    hits = recall("OOM kills after a deploy", kinds=["runbook", "postmortem"], state_dir=tmp_path / "s")
    assert hits and any("out-of-memory" in h.source or "oom" in h.source for h in hits)
    hint = deploy_runbook_hint("checkout-api", state_dir=tmp_path / "s")
    assert hint is not None and "checkout-api" in hint.heading


def test_a_configured_vocabulary_selects_minilm_in_its_own_collection(
    tmp_path: Path, small_vocab: Path, write
) -> None:
    lexical = Recall.in_state_dir(tmp_path / "s", embedding="hashing")
    neural = Recall.in_state_dir(tmp_path / "s", vocab_path=small_vocab)
    assert (lexical.model, neural.model) == ("hashing-v1", "minilm-l6-int8")
    write(tmp_path / "kb" / "r.md", "# Redis\n\nredis connection error\n")
    assert neural.add_knowledge(tmp_path / "kb") == 1
    assert lexical.count() == 0 and neural.recall("redis error", limit=1)[0].heading == "Redis"
