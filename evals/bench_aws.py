"""Benchmark: a full `runbook deploy` against a moto server on instant time — AWS API calls and wall time.

    .venv/bin/python evals/bench_aws.py [--runs N] [--throttle]

Each run builds a fresh account (tests/tools/aws/world.py), runs the stand-in ECS scheduler in a
thread, deploys checkout-api 1.2.2 -> 1.2.3 through the CLI with a colleague approving from a second
process (`runbook approve --wait`), and counts the deploy's API calls with botocore's `before-call`
(calls) and `before-send` (HTTP requests, retries included) events. Figures are medians.
`--throttle` answers every third request with ThrottlingException (tests/tools/aws/faults.py), with
botocore's real back-off and adaptive rate limiter, and AWS_MAX_ATTEMPTS=4.
"""

from __future__ import annotations

import argparse
import collections
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def one_run(url: str, counts: collections.Counter[str], approver_wait: int) -> tuple[float, int, int, int]:
    import yaml
    from typer.testing import CliRunner

    from agent.cli import app
    from tests.tools.aws.conftest import ecs_config
    from tests.tools.aws.world import SERVICE, World, freeze_tasks

    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"))
    freeze_tasks()
    world = World(endpoint_url=url).build()
    from datetime import UTC, datetime, timedelta

    start = datetime.now(UTC) - timedelta(minutes=10)
    world.publish("1.2.2", start, 120, requests=100, errors=1, latency_ms=150)
    world.publish("1.2.3", start, 120, requests=100, errors=0, latency_ms=120)
    stop = threading.Event()

    def schedule() -> None:
        while not stop.wait(0.05):
            world.reconcile()

    scheduler = threading.Thread(target=schedule, daemon=True)
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        Path("runbook.yaml").write_text(yaml.safe_dump(ecs_config()))
        approver = subprocess.Popen(
            [sys.executable, "-c", "from agent.cli import main; main()", "approve", "--service", SERVICE,
             "--environment", "production", "--wait", str(approver_wait)],
            env=os.environ | {"RUNBOOK_USER": "alice", "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        scheduler.start()
        counts.clear()
        began = time.perf_counter()
        result = CliRunner().invoke(app, ["deploy", SERVICE, "--version", "1.2.3", "--environment",
                                          "production", "--output", "plain"])
        wall = time.perf_counter() - began
        stop.set()
        scheduler.join(5)
        approver.wait(approver_wait)
        os.chdir(ROOT)
    if result.exit_code != 0:
        raise SystemExit(f"deploy failed (exit {result.exit_code}):\n{result.output}")
    calls = sum(v for k, v in counts.items() if k.startswith("call:"))
    sends = sum(v for k, v in counts.items() if k.startswith("send:"))
    return wall, calls, sends, len({k for k in counts if k.startswith("call:")})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--throttle", action="store_true", help="throttle every third AWS request")
    args = parser.parse_args()
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1", "RUNBOOK_TIME_SCALE": "0",
                       "RUNBOOK_USER": "dev", "NO_COLOR": "1", "MOTO_ECS_SERVICE_RUNNING": "4"})
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import ThreadedMotoServer

    from tests.tools.aws.faults import every_third, inject, protocol_of
    from tools.aws.session import AwsSession

    if args.throttle:
        os.environ["AWS_MAX_ATTEMPTS"] = "4"
    throttled = {"n": 0}
    counts: collections.Counter[str] = collections.Counter()
    original = AwsSession.client

    def counted(self: AwsSession, service: str) -> Any:
        fresh = service not in self._clients
        client = original(self, service)
        if fresh:
            def on_call(model: Any, **_: Any) -> None:
                counts[f"call:{service}.{model.name}"] += 1

            client.meta.events.register("before-call", on_call)
            client.meta.events.register("before-send", lambda **_: counts.update([f"send:{service}"]))
            if args.throttle:
                code = "Throttling" if protocol_of(client) == "query" else "ThrottlingException"
                inject(client, "", every_third(code, protocol_of(client), throttled))
        return client

    AwsSession.client = counted  # type: ignore[method-assign]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
    runs, per_operation = [], collections.Counter[str]()
    try:
        for _ in range(args.runs):
            # Throttled, the adaptive rate limiter slows calls to about one a second: give the approver time.
            runs.append(one_run(os.environ["AWS_ENDPOINT_URL"], counts, 900 if args.throttle else 60))
            per_operation = collections.Counter({k[5:]: v for k, v in counts.items() if k.startswith("call:")})
    finally:
        server.stop()
    throttling = ", every third request throttled" if args.throttle else ""
    print(f"full ECS deploy against moto server, instant time{throttling}, {args.runs} runs (median):")
    print(f"  wall time       {statistics.median(r[0] for r in runs):.2f} s   (runs: "
          + ", ".join(f"{r[0]:.2f}" for r in runs) + ")")
    print(f"  AWS API calls   {statistics.median(r[1] for r in runs):.0f}")
    print(f"  HTTP requests   {statistics.median(r[2] for r in runs):.0f}   (retries included)")
    print("  calls by operation (last run):")
    for name, count in per_operation.most_common():
        print(f"    {count:5d}  {name}")


if __name__ == "__main__":
    main()
