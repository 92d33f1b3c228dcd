"""Benchmark of the Slack bot: how fast a click is acknowledged, and how fast a waiting deploy resumes.

    .venv/bin/python evals/bench_slack.py [--clicks 300] [--deploys 5]

Everything runs on 127.0.0.1: the Web API stand-in, the real bot over HTTP, signed clicks, and
deploys of the sandbox fleet (instant sandbox time) in their own processes.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from skills.deploy.approval_step import MIN_POLL_WALL_SECONDS, POLL_SECONDS

RUNBOOK = [sys.executable, "-c", "from agent.cli import main; main()"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=300)
    parser.add_argument("--deploys", type=int, default=5)
    args = parser.parse_args()
    os.chdir(tempfile.mkdtemp(prefix="bench-slack-"))
    os.environ.update({"RUNBOOK_TIME_SCALE": "0", "RUNBOOK_USER": "dev"})

    from agent.runtime import open_runtime
    from agent.slack.app import build_app
    from agent.slack.server import BotServer
    from skills import approval as gate
    from skills.deploy.liveness import Holder
    from tools import slack_cards
    from tools.sandbox import reset_sandbox
    from tools.slack_api import SlackClient
    from tools.slack_standin import SlackStandin, action_payload, click

    token, secret = "xoxb-bench-" + secrets.token_hex(8), secrets.token_hex(16)
    standin = SlackStandin(token=token)
    base_url = standin.start()
    os.environ.update({"SLACK_BOT_TOKEN": token, "SLACK_API_URL": base_url})
    runtime = open_runtime()
    config = runtime.config
    reset_sandbox(config, runtime.fleet_store())
    server = BotServer(build_app(config, SlackClient(token, base_url), secret), signing_secret=secret)
    url = server.start()

    # 1. Ack latency: a signed click on a live card, answered by the bot (processing continues after).
    now = runtime.wall.now()
    store = runtime.store
    # The deploy that asks "runs" in this process: it holds the deploy lock, as a live deploy does.
    store.acquire_lock("checkout-api/production", Holder.this_process("dev").label, "dep-bench00001", now, 3600)
    _, env = config.environment("production")
    record = gate.open_request(store, deployment_id="dep-bench00001", service="checkout-api", environment="production",
                               from_version="1.2.2", to_version="1.2.3", image_digest="sha256:" + "ab" * 32,
                               requester="dev", now=now, policy=env.approval)
    card = slack_cards.ApprovalCard(request_id=record.id, deployment_id=record.deployment_id, operation="bench",
                                    risk="high", environment="production", service="checkout-api",
                                    from_version="1.2.2", to_version="1.2.3", image_digest=record.image_digest,
                                    requester="dev", rollback_command="-", expires_at=record.expires_at)
    store.append_event(record.deployment_id, "approval_requested", now, card.model_dump(mode="json"))
    client = SlackClient(token, base_url)
    posted = client.post_message("#runbook-approvals", "bench", slack_cards.request_blocks(card))
    store.set_approval_message(record.id, posted.channel, posted.ts)
    message = standin.card("#runbook-approvals", record.id)
    assert message is not None
    acks: list[float] = []
    # The first click decides; the rest are refused after their ack (the card as first seen is re-clicked).
    payloads = [action_payload(message, slack_cards.APPROVE_ACTION, user, "x") for user in ("U0ALICE001", "U0CAROL001")]
    for n in range(args.clicks):
        payload = payloads[n % 2]
        started = time.perf_counter()
        status, _ = click(url, secret, payload)
        acks.append((time.perf_counter() - started) * 1000)
        assert status == 200, status
    print(f"ack latency over {len(acks)} sequential signed clicks: median {statistics.median(acks):.1f} ms,"
          f" p99 {percentile(acks, 0.99):.1f} ms, max {max(acks):.1f} ms (target p99 <= 50 ms)")

    # 1b. A burst: 50 signed clicks at once, each on its own connection.
    def one(payload: dict[str, object]) -> tuple[float, int | None]:
        started = time.perf_counter()
        try:
            status, _ = click(url, secret, payload)
        except OSError:  # a reset or refused connection: a click Slack would have to retry
            return (time.perf_counter() - started) * 1000, None
        return (time.perf_counter() - started) * 1000, status

    with ThreadPoolExecutor(max_workers=50) as pool:
        burst = list(pool.map(one, [payloads[n % 2] for n in range(50)]))
    lost = sum(1 for _, status in burst if status != 200)
    times = [t for t, _ in burst]
    print(f"ack latency of a 50-click burst: median {statistics.median(times):.1f} ms,"
          f" p99 {percentile(times, 0.99):.1f} ms, {lost} lost or reset (target p99 <= 250 ms, 0 lost)")

    # 2. Click to deploy-resumes: a deploy waits in its own process; time from the click to its resume.
    store.release_lock("checkout-api/production", "dep-bench00001")
    resumes: list[float] = []
    for _ in range(args.deploys):
        reset_sandbox(config, runtime.fleet_store())
        deploy = subprocess.Popen(RUNBOOK + ["deploy", "checkout-api", "--version", "1.2.3", "-e", "production",
                                             "--output", "json"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seen = {m.ts for m in standin.messages}
        deadline = time.monotonic() + 60
        live = None
        while live is None and time.monotonic() < deadline:
            live = next((m for m in reversed(standin.messages) if m.ts not in seen and
                         any(b.get("type") == "actions" for b in m.blocks)), None)
            time.sleep(0.005)
        assert live is not None, "no card posted"
        request = store.pending_approvals("checkout-api", "production")[-1]
        while not any(e.kind == "approval_requested" for e in store.events(request.deployment_id)):
            time.sleep(0.005)
        started = time.perf_counter()
        click(url, secret, action_payload(live, slack_cards.APPROVE_ACTION, "U0ALICE001", "alice"))
        while not any(e.kind == "approval_decided" for e in store.events(request.deployment_id)):
            time.sleep(0.002)
        resumes.append((time.perf_counter() - started) * 1000)
        deploy.wait(timeout=60)
    print(f"click to deploy resumes over {len(resumes)} deploys: median {statistics.median(resumes):.0f} ms,"
          f" max {max(resumes):.0f} ms (the deploy polls the store every {POLL_SECONDS:g} clock seconds,"
          f" at least {MIN_POLL_WALL_SECONDS:g} s wall)")
    server.stop()
    standin.stop()
    runtime.close()


if __name__ == "__main__":
    main()
