"""Recall benchmark: indexing throughput and query latency at 10,000 synthetic entries.

    .venv/bin/python evals/bench_recall.py [--entries 10000] [--queries 200] [--embedding auto] [--vocab PATH]

Entries are generated (deployment summaries and runbook-like sections over made-up services, errors
and versions) and indexed into a chromadb index in a temporary directory. Target: median query <= 50 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from memory.recall import Recall  # noqa: E402
from memory.recall_docs import Entry  # noqa: E402

NAMES = "checkout payments inventory search billing auth catalog shipping reviews profile".split()
SERVICES = [f"{name}-{kind}" for name in NAMES for kind in ("api", "worker")]
PROBLEMS = ["Redis connection errors", "database pool exhausted", "OOM kills", "p99 latency above 2 s",
            "5xx error spike", "webhook 401s", "queue backlog growing", "TLS certificate expired",
            "CPU throttling", "disk full on the log volume", "DNS resolution failures", "slow queries"]
OUTCOMES = ["succeeded", "canary failed", "validation failed, rolled back", "denied", "expired"]
ACTIONS = ["roll back", "scale out", "raise the memory limit", "restart the tasks", "replay the queue",
           "add an index", "rotate the certificate", "reduce the pool size"]


def synthetic(n: int, rng: random.Random) -> list[Entry]:
    entries = []
    for i in range(n):
        service = rng.choice(SERVICES)
        problem = rng.choice(PROBLEMS)
        if i % 2:
            version = f"{rng.randint(1, 4)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}"
            text = (f"Deployment dep-{i:05d} of {service} to {version} in production: {rng.choice(OUTCOMES)}."
                    f" During the canary we saw {problem}; the team chose to {rng.choice(ACTIONS)}.")
            kind = "deployment"
        else:
            text = (f"Runbook section for {service}: when you see {problem}, first check the dashboards,"
                    f" then {rng.choice(ACTIONS)}; if that fails, {rng.choice(ACTIONS)} and page the owner.")
            kind = "runbook"
        entries.append(Entry(id=f"bench:{i}", text=text, metadata={"kind": kind, f"svc:{service}": True}))
    return entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--embedding", default="auto", choices=["auto", "minilm", "hashing"])
    parser.add_argument("--vocab", default=None)
    args = parser.parse_args(argv)
    rng = random.Random(7)
    entries = synthetic(args.entries, rng)
    with tempfile.TemporaryDirectory() as tmp:
        index = Recall(Path(tmp), embedding=args.embedding, vocab_path=args.vocab)
        started = time.perf_counter()
        index.add_entries(entries)
        indexing = time.perf_counter() - started
        queries = [
            f"{rng.choice(PROBLEMS)} on {rng.choice(SERVICES)} after a deploy" for _ in range(args.queries)
        ]
        index.recall("warm-up", limit=5)
        latencies = []
        for number, query in enumerate(queries):
            service = rng.choice(SERVICES) if number % 4 == 0 else None
            begin = time.perf_counter()
            index.recall(query, service=service, limit=5)
            latencies.append((time.perf_counter() - begin) * 1000)
        count = index.count()
    latencies.sort()
    p95 = latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))]
    print(f"embedding: {index.model}; entries: {count}")
    print(f"indexing: {args.entries / indexing:.0f} entries/s ({indexing:.1f} s for {args.entries})")
    print(f"query latency over {len(latencies)} queries: median {statistics.median(latencies):.1f} ms, "
          f"p95 {p95:.1f} ms (target median <= 50 ms)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
