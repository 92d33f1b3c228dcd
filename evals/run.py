"""Evaluations, reported as numbers: routing (per skill and per slot), the model path (scripted model over
recorded tool outputs; the real model too when ANTHROPIC_API_KEY is set) and investigate facts.

    python evals/run.py            # exit 1 if a set is below its bar

Routing sets: routing.yaml (the project's first cases), routing_classes.yaml (one group per failure class of
issue 13), routing_people.yaml (the development half of the cases written blind) and routing_heldout.yaml
(the held-out half: only its numbers are printed, never its cases, so nobody tunes against it).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from model_path_eval import run_all as run_model_path  # noqa: E402
from routing_eval import Routed, route_offline, score_set  # noqa: E402

ROUTING_SETS = [  # file, bar (% exact), whether its misses may be shown
    ("routing.yaml", 90.0, True),
    ("routing_classes.yaml", 90.0, True),
    ("routing_people.yaml", 85.0, True),
    ("routing_heldout.yaml", 0.0, False),
]


def route_model(question: str, after: str | None = None) -> Routed:
    """The real model's first tool calls for the question (no tool runs)."""
    from agent.model import make_model
    from agent.prompts import system_prompt
    from agent.tools import CATALOGUE
    from tools.config import AgentConfig, sandbox_default_config

    model = make_model(AgentConfig(provider="anthropic"), max_retries=1)
    assert model is not None
    earlier = [{"role": "user", "content": after}, {"role": "assistant", "content": "(answered)"}] if after else []
    reply = model.call(system_prompt(sandbox_default_config()), [*earlier, {"role": "user", "content": question}],
                       CATALOGUE.schemas())
    calls = [(c["name"], c.get("input") or {}) for c in reply.tool_calls]
    skills = list(dict.fromkeys(CATALOGUE.skill_of(name) for name, _ in calls))
    if not calls:
        return "no tool", [], {}
    if len(skills) > 1:
        return "compound", calls, {"parts": skills}
    return skills[0], calls, {}


def run_routing(router: Any, label: str) -> list[bool]:
    results = []
    for name, bar, visible in ROUTING_SETS:
        path = HERE / name
        if not path.exists():
            continue
        score = score_set(path, router, f"{label}, {name}")
        print(score.report(show_misses=visible))
        results.append(score.accuracy >= bar)
    return results


def _deploy_124() -> None:
    """checkout-api 1.2.4 deployed to production, approved by a colleague from another thread."""
    from agent.runtime import runtime_for
    from memory.identity import Identity
    from memory.scratchpad import Scratchpad
    from skills import approval as gate
    from skills.deploy import DeployRequest, run_deploy
    from tools.config import sandbox_default_config

    runtime = runtime_for(sandbox_default_config())
    policy = runtime.config.environment("production")[1].approval
    runtime.store  # noqa: B018 - creates the database before the colleague connects

    def approve() -> None:
        with Scratchpad(runtime.database_url) as store:
            for _ in range(600):
                pending = store.pending_approvals("checkout-api", "production")
                if pending:
                    gate.decide(store, pending[0], "approved", by=Identity(name="alice", via="simulated"), channel="terminal",
                                now=runtime.wall.now(), policy=policy)
                    return
                time.sleep(0.05)

    thread = threading.Thread(target=approve, daemon=True)
    thread.start()
    request = DeployRequest(service="checkout-api", version="1.2.4", environment="production", requester="dev")
    with runtime:
        run_deploy(runtime, request, lambda event: None)
    thread.join(timeout=30)


def _ask_patiently(ask: Any, question: str) -> str:
    """The answer, with recall awaited as long as it takes: the facts are measured here, not the latency
    (evals/bench_ask.py measures that)."""
    from agent.runtime import runtime_as
    from tools.config import sandbox_default_config

    config = sandbox_default_config()
    config.knowledge.wait_seconds = 300
    with runtime_as("dev", config) as runtime:
        return str(ask(question, "eval", runtime, model=None).answer)


def run_investigate() -> float:
    from agent.conversation import ask
    from memory.recall import ensure_indexed

    cases = yaml.safe_load((HERE / "investigate.yaml").read_text())
    facts_total = facts_found = 0
    home = Path.cwd()
    for case in cases:
        with tempfile.TemporaryDirectory() as tmp:
            os.chdir(tmp)  # the deploy and recall keep their state under the working directory
            try:
                state_dir = Path(tmp) / ".runbook"
                ensure_indexed(state_dir=state_dir)  # as `runbook sandbox reset` does
                if case["scenario"] == "deploy-1.2.4":
                    _deploy_124()
                asked = [(case["q"], case["facts"])] + [(f["q"], f["facts"]) for f in case.get("then") or []]
                answers = [(_ask_patiently(ask, q), facts) for q, facts in asked]
            finally:
                os.chdir(home)
        for answer, facts in answers:
            missing = [fact for fact in facts if fact not in answer]
            facts_total += len(facts)
            facts_found += len(facts) - len(missing)
            if missing:
                print(f"    ✗ {case['name']}: missing {missing}")
    accuracy = 100.0 * facts_found / facts_total
    print(f"investigate (sandbox scenarios): {facts_found}/{facts_total} facts = {accuracy:.1f}%")
    return accuracy


def main() -> int:
    os.environ["RUNBOOK_TIME_SCALE"] = "0"
    os.environ.setdefault("RUNBOOK_USER", "dev")
    results = run_routing(route_offline, "offline router")
    live = bool(os.environ.get("ANTHROPIC_API_KEY"))
    if live:
        results += run_routing(route_model, "model")
    else:
        print("routing (model): skipped, no ANTHROPIC_API_KEY")
    passed, total = run_model_path(live=False)
    results.append(passed == total)
    if live:
        passed, total = run_model_path(live=True)
        results.append(passed >= 0.8 * total)
    else:
        print("model path (real model): skipped, no ANTHROPIC_API_KEY")
    results.append(run_investigate() >= 90.0)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
