"""Recall eval: labelled queries over the bundled runbooks and postmortems; reports recall@3.

    .venv/bin/python evals/recall/run.py [--embedding auto|minilm|hashing] [--vocab PATH] [-v]

The index is built in a temporary directory from ``memory/knowledge_examples``; nothing is downloaded.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from memory.recall import Recall, RecallHit, bundled_examples  # noqa: E402

K = 3


def matches(hit: RecallHit, case: dict[str, Any]) -> bool:
    if Path(hit.source).name != case["source"]:
        return False
    return not case.get("heading") or case["heading"].lower() in hit.heading.lower()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedding", default="auto", choices=["auto", "minilm", "hashing"])
    parser.add_argument("--vocab", default=None, help="a BERT uncased vocab.txt for MiniLM")
    parser.add_argument("--cases", default=str(Path(__file__).with_name("queries.yaml")))
    parser.add_argument("-v", "--verbose", action="store_true", help="show every miss")
    args = parser.parse_args(argv)
    cases = yaml.safe_load(Path(args.cases).read_text())["queries"]
    with tempfile.TemporaryDirectory() as tmp:
        index = Recall(Path(tmp), embedding=args.embedding, vocab_path=args.vocab)
        sections = index.add_knowledge(bundled_examples())
        found = 0
        started = time.perf_counter()
        for case in cases:
            hits = index.recall(case["query"], limit=K)
            if any(matches(hit, case) for hit in hits):
                found += 1
            elif args.verbose:
                got = "; ".join(f"{Path(h.source).name} [{h.heading}]" for h in hits)
                print(f"MISS {case['query']!r} -> want {case['source']} {case.get('heading', '')}; got {got}")
        elapsed = (time.perf_counter() - started) / max(1, len(cases)) * 1000
    print(f"embedding: {index.model}; documents: {sections} sections; queries: {len(cases)}; "
          f"{elapsed:.1f} ms/query")
    print(f"recall@{K}: {found / len(cases):.2f} ({found}/{len(cases)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
