"""Model-path evals, one folder per case under evals/model_path/: the question, what the answer must hold,
the tools' outputs recorded beside it (one `<tool>.json` per tool), and a script of the model's replies.

Offline (always): the scripted model plays the case's replies, as the Messages API shapes them (tool
calls, an empty reply, a truncated one, an error), and the tools answer from the recordings: what is
measured is everything around the model: tool dispatch, the gates on request tools, what is said when
the model misbehaves, what is stored. Live (with ANTHROPIC_API_KEY): the real model answers the same
question over the same recorded tool outputs, and the same expectations are checked.

    python evals/model_path_eval.py [--live]
    python evals/model_path_eval.py --record   # re-record the tool outputs from the sandbox scenarios
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent / "model_path"


@dataclass
class CaseResult:
    name: str
    passed: bool
    problems: list[str] = field(default_factory=list)


def cases() -> list[Path]:
    return sorted(p for p in HERE.iterdir() if (p / "case.yaml").exists())


def recorded_catalogue(folder: Path) -> Any:
    """The real catalogue's declarations (names, argument models, read/request kinds), answered from the
    case's recordings: a call that matches no recording says so, as a tool error."""
    from agent.toolkit import Capability, Catalogue, ToolResult
    from agent.tools import CATALOGUE

    def runner(name: str) -> Any:
        path = folder / f"{name}.json"
        entries = json.loads(path.read_text()) if path.exists() else []

        def run(box: Any, args: Any) -> ToolResult:
            given = args.model_dump()
            for entry in entries:
                if all(given.get(k) == v for k, v in entry["match"].items()):
                    return ToolResult.model_validate(entry["result"])
            return ToolResult.failed(name, f"(eval) no recorded output of {name} for {given}")

        return run

    return Catalogue(Capability(name=c.name, skill=c.skill, kind=c.kind, args=c.args, run=runner(c.name),
                                description=c.description) for c in CATALOGUE)


def scripted_model(script: list[dict[str, Any]]) -> Any:
    from agent.model import ModelError, ModelReply

    turns = list(script)

    class Scripted:
        max_tokens = 1024

        def call(self, system: str, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
                 deadline: Any = None) -> ModelReply:
            if not turns:
                raise ModelError("(eval) the script has no reply left")
            turn = turns.pop(0)
            if "error" in turn:
                raise ModelError(turn["error"])
            content = [{k: v for k, v in b.items() if k != "record"} for b in turn.get("content") or []]
            for number, block in enumerate(content):
                if block.get("type") == "tool_use":
                    block.setdefault("id", f"toolu_{len(messages)}_{number}")
            stop = turn.get("stop") or ("tool_use" if any(b.get("type") == "tool_use" for b in content) else "end_turn")
            return ModelReply(content=content, stop_reason=stop, input_tokens=100, output_tokens=20)

    return Scripted()


def run_case(folder: Path, live: bool) -> CaseResult:
    from agent.conversation import ask
    from agent.model import make_model
    from agent.runtime import runtime_as
    from tools.config import AgentConfig, sandbox_default_config

    case = yaml.safe_load((folder / "case.yaml").read_text())
    config = sandbox_default_config()
    model = make_model(AgentConfig(provider="anthropic")) if live else scripted_model(case.get("script") or [])
    home = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            reply = None
            for question in [*(case.get("before") or []), case["question"]]:
                with runtime_as("dev", config) as runtime:
                    reply = ask(question, "eval", runtime, model=model, catalogue=recorded_catalogue(folder))
        finally:
            os.chdir(home)
    assert reply is not None
    expect = case.get("expect") or {}
    problems: list[str] = []
    results = {r["tool"]: r for r in reply.results}
    for tool in expect.get("tools") or []:
        if tool not in results:
            problems.append(f"tool {tool} not called (called: {reply.tools})")
    for tool in expect.get("refused") or []:
        if tool in results and results[tool]["status"] != "refused":
            problems.append(f"{tool} ran ({results[tool]['status']}) instead of being refused")
    facts = expect.get("facts") if not live else expect.get("live_facts", expect.get("facts"))
    for fact in facts or []:
        if fact.lower() not in reply.answer.lower():
            problems.append(f"answer lacks {fact!r}")
    for fact in expect.get("not_facts") or []:
        if fact.lower() in reply.answer.lower():
            problems.append(f"answer says {fact!r}")
    if "once" in expect and reply.answer.count(expect["once"]) != 1:
        problems.append(f"{expect['once']!r} appears {reply.answer.count(expect['once'])} times, not once")
    return CaseResult(folder.name, not problems, problems)


def run_all(live: bool = False) -> tuple[int, int]:
    passed = 0
    found = cases()
    for folder in found:
        result = run_case(folder, live)
        passed += result.passed
        print(f"    {'✓' if result.passed else '✗'} {result.name}" + ("" if result.passed else f": {'; '.join(result.problems)}"))
    label = "real model, recorded tool outputs" if live else "scripted model, recorded tool outputs"
    print(f"model path ({label}): {passed}/{len(found)} cases")
    return passed, len(found)


def record() -> None:
    """Run each case's scripted tool calls against its sandbox scenario and save the outputs beside it."""
    from agent.runtime import runtime_as
    from agent.toolkit import Toolbox
    from agent.tools import CATALOGUE
    from memory.recall import ensure_indexed
    from tools.config import sandbox_default_config

    home = Path.cwd()
    for folder in cases():
        case = yaml.safe_load((folder / "case.yaml").read_text())
        calls = [b for turn in case.get("script") or [] for b in turn.get("content") or [] if b.get("type") == "tool_use"]
        with tempfile.TemporaryDirectory() as tmp:
            os.chdir(tmp)
            try:
                state = Path(tmp) / ".runbook"
                ensure_indexed(state_dir=state)
                if case.get("scenario") == "deploy-1.2.4":
                    sys.path.insert(0, str(Path(__file__).parent))
                    from run import _deploy_124

                    _deploy_124()
                config = sandbox_default_config()
                config.knowledge.wait_seconds = 300
                recorded: dict[str, list[dict[str, Any]]] = {}
                with runtime_as("dev", config) as runtime:
                    box = Toolbox(catalogue=CATALOGUE, resources=runtime, asker="dev", allow_requests=True)
                    for call in calls:
                        if call.get("record") is False:
                            continue
                        result = box.run(call["name"], call["input"])
                        recorded.setdefault(call["name"], []).append({"match": call["input"],
                                                                      "result": result.model_dump(mode="json")})
                    box.close()
            finally:
                os.chdir(home)
        for name, entries in recorded.items():
            (folder / f"{name}.json").write_text(json.dumps(entries, indent=1, default=str) + "\n")
        print(f"recorded {folder.name}: {', '.join(recorded) or 'nothing'}")


if __name__ == "__main__":
    os.environ["RUNBOOK_TIME_SCALE"] = "0"
    os.environ.setdefault("RUNBOOK_USER", "dev")
    if "--record" in sys.argv:
        record()
    else:
        ok, total = run_all(live="--live" in sys.argv)
        sys.exit(0 if ok == total else 1)
