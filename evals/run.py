"""Evaluations: routing (offline router, and the model when ANTHROPIC_API_KEY is set) and investigate.

    python evals/run.py            # prints accuracy per set; exit 1 if a set is below its bar
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
SKILL_OF = {"investigate": "investigate", "service_status": "status", "deployment_history": "history",
            "get_metrics": "investigate", "get_error_logs": "investigate", "get_alarms": "status",
            "request_deploy": "deploy", "request_rollback": "rollback", "recall": "recall"}


def _same(got: Any, value: Any) -> bool:
    if isinstance(value, list):
        return isinstance(got, list) and sorted(map(str, got)) == sorted(map(str, value))
    return got == (str(value) if value is not None else None) or got == value


def _matches(case: dict[str, Any], skill: str, args: dict[str, Any]) -> bool:
    if skill != case["skill"]:
        return False
    query = str(args.get("query") or "").lower()
    return (all(_same(args.get(name), value) for name, value in (case.get("args") or {}).items())
            and all(str(word).lower() in query for word in case.get("query_has") or []))


def route_offline(question: str, after: str | None = None) -> tuple[str, dict[str, Any]]:
    from agent.router import Intent, route
    from tools.config import sandbox_default_config

    config = sandbox_default_config()
    before = route(after, config) if after else None
    intent = route(question, config, before if isinstance(before, Intent) else None)
    return (intent.skill, intent.args) if isinstance(intent, Intent) else ("none", {})


def route_model(question: str, after: str | None = None) -> tuple[str, dict[str, Any]]:
    from agent.model import make_model
    from agent.prompts import system_prompt
    from agent.tools import tool_schemas
    from tools.config import AgentConfig, sandbox_default_config

    model = make_model(AgentConfig(provider="anthropic"), max_retries=1)
    assert model is not None
    earlier = [{"role": "user", "content": after}, {"role": "assistant", "content": "(answered)"}] if after else []
    reply = model.call(system_prompt(sandbox_default_config()), [*earlier, {"role": "user", "content": question}],
                       tool_schemas())
    calls = reply.tool_calls
    return (SKILL_OF.get(calls[0]["name"], "none"), calls[0].get("input") or {}) if calls else ("none", {})


def run_routing(router: Any, label: str) -> float:
    cases = yaml.safe_load((HERE / "routing.yaml").read_text())
    misses = []
    for case in cases:
        skill, args = router(case["q"], case.get("after"))
        if not _matches(case, skill, args):
            misses.append(f"    ✗ {case['q']!r}: got {skill} {args}")
    accuracy = 100.0 * (len(cases) - len(misses)) / len(cases)
    print(f"routing ({label}): {len(cases) - len(misses)}/{len(cases)} = {accuracy:.1f}%")
    print("\n".join(misses[:15]))
    return accuracy


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


def run_investigate() -> float:
    from agent.conversation import ask
    from agent.runtime import runtime_as
    from memory.recall import ensure_indexed
    from tools.config import sandbox_default_config

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
                answers = [(ask(q, "eval", runtime_as("dev", sandbox_default_config()), model=None).answer, facts)
                           for q, facts in asked]
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
    results = [run_routing(route_offline, "offline router") >= 90.0]
    if os.environ.get("ANTHROPIC_API_KEY"):
        results.append(run_routing(route_model, "model") >= 80.0)
    else:
        print("routing (model): skipped, no ANTHROPIC_API_KEY")
    results.append(run_investigate() >= 90.0)
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
