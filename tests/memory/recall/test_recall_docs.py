"""Markdown is split into sections by heading; records become one-paragraph summaries."""

from __future__ import annotations

from pathlib import Path

from memory.recall import bundled_examples
from memory.recall_docs import deployment_entry, investigation_entry, markdown_entries, markdown_files
from memory.records import InvestigationRecord

DOC = """---
kind: postmortem
services: [checkout-api, payments-api]
---
# Checkout outage

Intro paragraph.

## Timeline

- 10:00 things broke

```bash
# not a heading: inside a code fence
```

### Detail

Deeper.

## Empty

## Action items

Fix it.
"""


def test_sections_keep_heading_trail_kind_services_and_source(tmp_path: Path, write) -> None:
    path = write(tmp_path / "kb" / "outage.md", DOC)
    entries = markdown_entries(path, tmp_path / "kb")
    trails = [e.metadata["trail"] for e in entries]
    assert trails == [
        "Checkout outage",
        "Checkout outage > Timeline",
        "Checkout outage > Timeline > Detail",
        "Checkout outage > Action items",
    ]
    first = entries[1].metadata
    assert first["kind"] == "postmortem" and first["heading"] == "Timeline"
    assert first["source"] == str(path.resolve()) and first["title"] == "Checkout outage"
    assert first["svc:checkout-api"] is True and first["svc:payments-api"] is True
    assert "not a heading" in entries[1].text
    assert [e.id for e in entries] == [e.id for e in markdown_entries(path, tmp_path / "kb")]


def test_kind_defaults_to_runbook_unless_the_name_says_postmortem(tmp_path: Path, write) -> None:
    plain = write(tmp_path / "redis.md", "# Redis\n\nText.\n")
    post = write(tmp_path / "postmortem-x.md", "# Something broke\n\nText.\n")
    assert markdown_entries(plain, tmp_path)[0].metadata["kind"] == "runbook"
    assert markdown_entries(post, tmp_path)[0].metadata["kind"] == "postmortem"


def test_long_sections_are_cut_at_paragraphs(tmp_path: Path, write) -> None:
    body = "\n\n".join(f"Paragraph {i} " + "word " * 60 for i in range(12))
    path = write(tmp_path / "long.md", f"# Long\n\n{body}\n")
    entries = markdown_entries(path, tmp_path, max_chars=800)
    assert len(entries) > 3
    assert all(e.metadata["heading"] == "Long" for e in entries)
    assert len({e.id for e in entries}) == len(entries)


def test_bundled_examples_cover_the_sandbox() -> None:
    files = markdown_files(bundled_examples())
    sections = [e for f in files for e in markdown_entries(f, bundled_examples())]
    assert len(files) >= 12 and len(sections) >= 50
    names = {f.name for f in files}
    for service in ("checkout-api", "payments-api", "inventory-api", "notifications-worker"):
        assert f"deploy-{service}.md" in names
    assert {e.metadata["kind"] for e in sections} == {"runbook", "postmortem"}


def test_deployment_summary(make_deployment) -> None:
    record = make_deployment(
        service="payments-api", status="validation_failed_rolled_back", detail="error rate 4.8% > 1%",
        approver="alice", metrics_after={"error_rate": 4.8, "p99_ms": None},
    )
    entry = deployment_entry(record)
    assert entry.id == f"deployment:{record.id}"
    assert "payments-api" in entry.text and "validation failed rolled back" in entry.text
    assert "error rate 4.8% > 1%" in entry.text and "approved by alice" in entry.text
    assert entry.metadata["svc:payments-api"] is True and entry.metadata["deployment_id"] == record.id


def test_investigation_summary(t0) -> None:
    record = InvestigationRecord(
        id="inv-1", service="checkout-api", environment="production", question="why 5xx?",
        started_at=t0, window_start=None, window_end=None, summary="Redis refused connections",
        findings={"top_error": "ConnectionError"},
    )
    entry = investigation_entry(record)
    assert entry.id == "investigation:inv-1" and "Redis refused connections" in entry.text
    assert entry.metadata["kind"] == "investigation" and entry.metadata["environment"] == "production"
