"""investigate + recall: similar past incidents and the runbook section, cited by source; a late or failed
lookup is said, never fatal; and the investigation itself is findable afterwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from multiprocessing import Pipe
from pathlib import Path

import pytest  # noqa: E402,I001

from agent.runtime import runtime_for
from memory.recall import RecallHit
from memory.recall_lookup import RecallLookup, RecallQuery, cite, recall_in_background
from memory.scratchpad import Scratchpad
from skills.investigate import investigate
from skills.investigate_recall import FLOORS, pick, queries, topic_of
from tests.skills.sandbox_deploys import deploy_with_approval
from tools.backend import target_for
from tools.config import sandbox_default_config

pytestmark = pytest.mark.recall


def _investigate(state_dir: Path, service: str, recall, wait: float = 60.0, window: int = 15):  # type: ignore[no-untyped-def]
    with runtime_for(sandbox_default_config()) as runtime:
        return investigate(runtime.backend("production"), runtime.store,
                           target_for(runtime.config, service, "production"), window, 0, "test",
                           recall=recall, recall_wait=wait)


def test_after_the_124_deploy_the_answer_cites_the_oom_postmortem_and_runbook(tmp_path: Path) -> None:
    state_dir = tmp_path / ".runbook"
    with runtime_for(sandbox_default_config()) as runtime:
        deploy_with_approval(runtime, "1.2.4")
    started = []

    def starter() -> RecallLookup:
        started.append(True)
        return recall_in_background(state_dir=state_dir)

    findings = _investigate(state_dir, "checkout-api", starter)
    assert started and findings.recall is not None and findings.recall.status == "ok"
    assert findings.recall.looks_like is not None
    assert findings.recall.looks_like.title == "checkout-api 1.2.4 rolled back: OOM under full load"
    assert findings.recall.looks_like.cite.startswith("postmortem-checkout-api-1.2.4-oom.md § ")
    assert findings.recall.runbook is not None and findings.recall.runbook.cite.startswith("out-of-memory.md")
    assert "postmortem 'checkout-api 1.2.4 rolled back: OOM under full load' (postmortem-checkout-api-1.2.4-oom.md § " \
        in findings.answer
    assert "runbook: out-of-memory.md" in findings.answer
    # the runbook section is quoted, and the next step is the rollback the runbook and the deploy point to
    assert f"{findings.recall.runbook.cite} says:" in findings.answer and "\n  > " in findings.answer
    assert findings.recall.runbook.excerpt and findings.recall.runbook.excerpt[0] in findings.answer
    assert "runbook rollback checkout-api --environment production --to 1.2.2" in findings.answer
    assert "recall: postmortem-checkout-api-1.2.4-oom.md" in findings.answer  # in the evidence too
    # the 1.2.4 deploy already lines up in time: it is not also "seen before"
    assert not [r for r in findings.recall.seen_before if r.kind == "deployment"]

    # the investigation was logged, and the next lookup (which syncs first) finds it
    with Scratchpad.in_dir(state_dir) as pad:
        [logged] = pad.list_investigations("checkout-api")
    lookup = recall_in_background([RecallQuery(query="OutOfMemoryError Java heap space", kinds=["investigation"],
                                               service="checkout-api")], state_dir=state_dir)
    [hits] = lookup.result(timeout=60)
    assert [cite(h) for h in hits] == [f"investigation {logged.id}"]


def test_a_late_or_broken_lookup_is_reported_not_fatal(tmp_path: Path) -> None:
    state_dir = tmp_path / ".runbook"
    ours, _nobody_answers = Pipe()
    late = _investigate(state_dir, "payments-api", lambda: RecallLookup(ours, worker=None, mode="thread"), wait=0.01)
    assert "Similar incidents: not available (not back within 0.01 s)." in late.answer
    assert "recall: not available" in late.answer and "payments-api-5xx-rate" in late.answer

    def broken() -> RecallLookup:
        raise RuntimeError("no index")

    failed = _investigate(state_dir, "payments-api", broken)
    assert "Similar incidents: not available (RuntimeError: no index)." in failed.answer


def test_no_incident_no_lookup_wait(tmp_path: Path) -> None:
    ours, theirs = Pipe()
    quiet = _investigate(tmp_path / ".runbook", "inventory-api", lambda: RecallLookup(ours, None, "thread"), wait=30)
    assert quiet.recall is None and "Similar incidents" not in quiet.answer and "Looks like" not in quiet.answer
    assert ours.closed


def _hit(kind: str, score: float, heading: str, source: str = "scratchpad", **more) -> RecallHit:  # type: ignore[no-untyped-def]
    return RecallHit(id=heading, kind=kind, score=score, heading=heading, text="", source=source, **more)


def test_pick_applies_fixed_rules() -> None:
    since = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)
    post = _hit("postmortem", 0.5, "Postmortem: a > Summary", "/kb/pm-a.md", title="Postmortem: a")
    books = [_hit("runbook", 0.45, "OOM kills", "/kb/oom.md", title="OOM kills"),
             _hit("runbook", 0.41, "OOM kills > Mitigate", "/kb/oom.md", title="OOM kills"),
             _hit("runbook", 0.44, "Other > Mitigate", "/kb/other.md", title="Other")]
    history = [_hit("deployment", 0.6, "Deployment of x 1.0 (succeeded)", deployment_id="dep-ok"),
               _hit("deployment", 0.6, "Deployment of x 1.1 (validation_failed)", deployment_id="dep-now"),
               _hit("deployment", 0.6, "Deployment of x 0.9 (rolled_back)", deployment_id="dep-old",
                    at=since - timedelta(days=3)),
               _hit("investigation", 0.6, "Investigation of x: errors?", investigation_id="inv-now", at=since),
               _hit("investigation", 0.3, "Investigation of x: far", investigation_id="inv-far")]
    found = pick([[post], books, history], FLOORS["minilm"], since, lined_up={"dep-now"})
    assert found.strength == "Possibly related" and found.looks_like and found.looks_like.title == "a"
    assert found.runbook and found.runbook.cite == "oom.md § Mitigate"  # the best runbook, at its Mitigate
    assert [r.cite for r in found.seen_before] == ["deployment dep-old"]
    strong = pick([[post.model_copy(update={"score": 0.7})], [], []], FLOORS["minilm"], since, set())
    assert strong.strength == "Looks like" and strong.runbook is None


def test_queries_come_from_the_top_signatures_and_the_service() -> None:
    topic = topic_of(["OutOfMemoryError: Java heap space request_id=…", "returned <n>, retrying", "a", "b"])
    assert topic == ["OutOfMemoryError: Java heap space", "returned , retrying", "a"]
    found = queries("checkout-api", topic[:1])
    assert [(q.kinds, q.service) for q in found] == [(["postmortem"], None), (["runbook"], None),
                                                     (["investigation", "deployment"], "checkout-api")]
    assert "checkout-api" in found[0].query and "OutOfMemoryError" in found[1].query
