"""Benchmark: the AWS API calls of one `runbook deploy` against a moto server, per phase, with runbook polling
in real time against an ECS stand-in of fixed speed.

    .venv/bin/python evals/bench_aws.py [--runs N] [--validation-seconds S] [--throttle]

The deploy: checkout-api 1.2.2 -> 1.2.3, 10 tasks, a 60 s canary (3 health checks), a colleague approving
2 minutes after the request, post-deploy validation of `--validation-seconds` (default 300, the default
of runbook.yaml), custom CloudWatch metrics (which settle 60 s), through the CLI (`runbook deploy`).

Why not instant time: on an instant clock runbook's polls cost no time, so how many of them happen before a
rollout completes depends only on how fast the stand-in scheduler thread runs on this machine (FACTS.md
measured 5 to 94 calls for the same rollout). Here the deploy's clock is virtual and moves only when runbook
sleeps (a poll interval, a metrics tick, an approval poll), and inside each sleep the world catches up to the
new time: the stand-in ECS scheduler (`World.reconcile(batch=3)`) makes one pass every 15 virtual seconds,
starting at most 3 tasks and stopping as many old ones, and the colleague approves once the request has
waited 120 virtual seconds. What runbook sees at each poll is a function of virtual time alone, so the
calls counted are those of a deploy against an ECS of that speed, the same on any machine; a run takes as
long as its calls take, plus 0.1 s of wall time per approval poll. DescribeServices answers carry
deployments as ECS reports them (tests/tools/aws/ecs_deployments.py): moto has none.

Calls are counted with botocore's `before-call` (API calls) and `before-send` (HTTP requests, retries
included) events, per deploy step. `--throttle` answers every third request with ThrottlingException
(tests/tools/aws/faults.py) with AWS_MAX_ATTEMPTS=4: the calls stay the same, the requests grow.
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import statistics
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DESIRED = 10
SCHEDULER_PASS_SECONDS = 15
SCHEDULER_BATCH = 3
APPROVAL_AFTER_SECONDS = 120
TARGET_CALLS = 100


class SteppedClock:
    """Virtual time that moves only when someone sleeps; `catch_up(t)` lets the world reach `t` first."""

    def __init__(self, start: datetime, catch_up: Any) -> None:
        self._now, self.catch_up = start, catch_up

    def now(self) -> datetime:
        return self._now

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            target = self._now + timedelta(seconds=seconds)
            self.catch_up(self._now, target)
            self._now = target


class Colleague:
    """Approves the pending request once it has waited APPROVAL_AFTER_SECONDS of virtual time."""

    def __init__(self, database_url: str, policy: Any) -> None:
        from memory.scratchpad import Scratchpad

        self.store, self.policy, self.seen_at = Scratchpad(database_url), policy, None

    def look(self, now: datetime) -> None:
        from memory.identity import Identity
        from skills import approval as gate
        from tests.tools.aws.world import SERVICE

        pending = self.store.pending_approvals(SERVICE, "production")
        if not pending:
            return
        self.seen_at = self.seen_at or now
        if now - self.seen_at >= timedelta(seconds=APPROVAL_AFTER_SECONDS):
            gate.decide(self.store, pending[0], "approved", by=Identity(name="alice", via="os"), channel="terminal",
                        now=datetime.now(UTC), policy=self.policy)


def one_run(url: str, counts: collections.Counter[str], phase: list[str], validation_seconds: int) -> tuple[float, str]:
    import yaml
    from typer.testing import CliRunner

    import tools.aws
    from agent.cli import app
    from tests.tools.aws.conftest import ecs_config
    from tests.tools.aws.world import SERVICE, World, freeze_tasks
    from tools.config import parse_config

    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"))
    freeze_tasks()
    world = World(endpoint_url=url).build(desired=DESIRED)
    start = datetime.now(UTC) - timedelta(minutes=10)
    world.publish("1.2.2", start, 120, requests=100, errors=1, latency_ms=150)
    world.publish("1.2.3", start, 120, requests=100, errors=0, latency_ms=120)
    raw = ecs_config(canary_observation_seconds=60, health_checks=3, validation_seconds=validation_seconds)
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        Path("runbook.yaml").write_text(yaml.safe_dump(raw))
        config = parse_config(raw, "bench")
        Path(".runbook").mkdir()
        colleague = Colleague(f"sqlite:///{Path(tmp) / '.runbook' / 'runbook.db'}",
                              config.environment("production")[1].approval)
        next_pass = [datetime.now(UTC)]

        def catch_up(now: datetime, until: datetime) -> None:
            while next_pass[0] <= until:
                world.reconcile(batch=SCHEDULER_BATCH)
                next_pass[0] += timedelta(seconds=SCHEDULER_PASS_SECONDS)
            colleague.look(until)

        clock = SteppedClock(datetime.now(UTC), catch_up)
        tools.aws.choose_clock = lambda _config: clock  # type: ignore[attr-defined]
        counts.clear()
        phase[0] = "0 start"
        began = time.perf_counter()
        result = CliRunner().invoke(app, ["deploy", SERVICE, "--version", "1.2.3", "--environment", "production",
                                          "--output", "plain"])
        wall = time.perf_counter() - began
        colleague.store.close()
        os.chdir(ROOT)
    if result.exit_code != 0:
        raise SystemExit(f"deploy failed (exit {result.exit_code}):\n{result.output}")
    return wall, result.output


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1, help="runs (the counts are the same each time)")
    parser.add_argument("--validation-seconds", type=int, default=300)
    parser.add_argument("--throttle", action="store_true", help="throttle every third AWS request")
    parser.add_argument("--by-phase", action="store_true", help="also list the operations of each phase")
    args = parser.parse_args()
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "4" if args.throttle else "1",
                       "RUNBOOK_USER": "dev", "NO_COLOR": "1", "MOTO_ECS_SERVICE_RUNNING": str(DESIRED),
                       "RUNBOOK_KNOWLEDGE_ENABLED": "0"})
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    from skills.deploy.context import DeployContext
    from skills.events import StepStarted
    from tests.tools.aws.ecs_deployments import report_deployments
    from tests.tools.aws.faults import every_third, inject, protocol_of
    from tools.aws.session import AwsSession

    counts: collections.Counter[str] = collections.Counter()
    phase = ["0 start"]
    throttled = {"n": 0}
    original_client, original_emit = AwsSession.client, DeployContext.emit
    world_url: dict[str, Any] = {}

    def counted(self: AwsSession, service: str) -> Any:
        fresh = service not in self._clients
        client = original_client(self, service)
        if fresh:
            def on_call(model: Any, **_: Any) -> None:
                counts[f"call|{phase[0]}|{service}.{model.name}"] += 1

            client.meta.events.register("before-call", on_call)
            client.meta.events.register("before-send", lambda **_: counts.update([f"send|{phase[0]}"]))
            if service == "ecs":
                from tests.tools.aws.world import World

                edit = report_deployments(world_url.setdefault("world", World(endpoint_url=os.environ["AWS_ENDPOINT_URL"])))
                client.meta.events.register("after-call.ecs.DescribeServices", lambda parsed, **_: edit(parsed))
                client.meta.events.register("after-call.ecs.UpdateService", lambda parsed, **_: edit(parsed))
            if args.throttle:
                code = "Throttling" if protocol_of(client) == "query" else "ThrottlingException"
                inject(client, "", every_third(code, protocol_of(client), throttled))
        return client

    def emit(self: DeployContext, event: Any) -> None:
        if isinstance(event, StepStarted):
            phase[0] = f"{event.number} {event.title}"
        original_emit(self, event)

    AwsSession.client = counted  # type: ignore[method-assign]
    DeployContext.emit = emit  # type: ignore[method-assign]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
    walls, per_phase, per_operation, sends = [], collections.Counter[str](), collections.Counter[str](), 0
    detail: dict[str, collections.Counter[str]] = {}
    try:
        for _ in range(args.runs):
            wall, _output = one_run(os.environ["AWS_ENDPOINT_URL"], counts, phase, args.validation_seconds)
            walls.append(wall)
            per_phase = collections.Counter()
            per_operation = collections.Counter()
            for key, value in counts.items():
                kind, step, *rest = key.split("|")
                if kind == "call":
                    per_phase[step] += value
                    per_operation[rest[0]] += value
                    detail.setdefault(step, collections.Counter())[rest[0]] += value
            sends = sum(v for k, v in counts.items() if k.startswith("send|"))
    finally:
        server.stop()
    total = sum(per_phase.values())
    print(f"one ECS deploy against a moto server: {DESIRED} tasks, 60 s canary, approval after"
          f" {APPROVAL_AFTER_SECONDS} s, validation {args.validation_seconds} s; real-time polling against a"
          f" scheduler pass every {SCHEDULER_PASS_SECONDS} s (virtual){', every third request throttled' if args.throttle else ''}")
    print(f"  {'phase':<34} {'AWS API calls':>13}")
    for step in sorted(per_phase):
        print(f"  {step:<34} {per_phase[step]:>13}")
        if args.by_phase:
            print("      " + ", ".join(f"{n} {op.split('.', 1)[1]}" for op, n in detail[step].most_common()))
    print(f"  {'total':<34} {total:>13}   (target <= {TARGET_CALLS})")
    print(f"  HTTP requests {sends} (retries included); wall time {statistics.median(walls):.1f} s (median of"
          f" {len(walls)})")
    print("  calls by operation:")
    for name, count in per_operation.most_common():
        print(f"    {count:5d}  {name}")


if __name__ == "__main__":
    main()
