"""The terminal prompt: offered where the requester may approve, never where they may not."""

from __future__ import annotations

from agent.runtime import open_runtime
from skills.deploy import DeployRequest, run_deploy
from skills.events import ApprovalDecided, CanaryVerdictChanged, Event


def run(environment: str, answers: list[str | None], questions: list[str]) -> tuple[int, list[Event]]:
    events: list[Event] = []

    def prompt(question: str, wait_seconds: float) -> str | None:
        questions.append(question)
        return answers.pop(0) if answers else None

    request = DeployRequest(service="checkout-api", version="1.2.3", environment=environment, requester="dev")
    with open_runtime() as runtime:
        code = run_deploy(runtime, request, events.append, terminal_prompt=prompt)
    return code, events


def test_requester_approves_at_the_prompt_where_policy_allows() -> None:
    questions: list[str] = []
    code, events = run("staging", [None, "approved"], questions)
    assert code == 0
    # after 60 s the canary is inconclusive: the prompt says that approving now is an override
    assert questions[0] == "Approve checkout-api 1.2.3 to staging while the canary is inconclusive (an override)? [y/N] "
    decided = next(e for e in events if isinstance(e, ApprovalDecided))
    assert decided.decision == "approved" and decided.by == "dev" and decided.override


def test_once_the_canary_is_healthy_approving_is_no_override(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from skills.deploy import approval_step

    monkeypatch.setattr(approval_step, "MIN_POLL_WALL_SECONDS", 0.0)  # nobody else needs room to decide here
    _write_config(lambda prod: prod["approval"].update(allow_self_approval=True, slack=False,
                                                       expires_after_seconds=3600))
    events: list[Event] = []
    questions: list[str] = []

    def wait_for_the_verdict(question: str, wait_seconds: float) -> str | None:
        questions.append(question)
        return None if "override" in question else "approved"

    request = DeployRequest(service="checkout-api", version="1.2.3", environment="production", requester="dev")
    with open_runtime() as runtime:
        assert run_deploy(runtime, request, events.append, terminal_prompt=wait_for_the_verdict) == 0
    assert "override" in questions[0] and questions[-1] == "Approve checkout-api 1.2.3 to production? [y/N] "
    changed = next(e for e in events if isinstance(e, CanaryVerdictChanged))
    assert (changed.previous, changed.verdict) == ("inconclusive", "healthy")
    decided = next(e for e in events if isinstance(e, ApprovalDecided))
    assert decided.decision == "approved" and not decided.override


def _write_config(change) -> None:  # type: ignore[no-untyped-def]
    from importlib import resources
    from pathlib import Path

    import yaml

    config = yaml.safe_load(resources.files("tools.sandbox").joinpath("default_config.yaml").read_text())
    change(config["environments"]["production"])
    Path("runbook.yaml").write_text(yaml.safe_dump(config))


def test_answering_no_denies() -> None:
    code, events = run("staging", ["denied"], [])
    assert code == 5
    assert next(e for e in events if isinstance(e, ApprovalDecided)).decision == "denied"


def test_no_prompt_for_the_requester_in_production(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from importlib import resources
    from pathlib import Path

    import yaml

    config = yaml.safe_load(resources.files("tools.sandbox").joinpath("default_config.yaml").read_text())
    config["environments"]["production"]["approval"]["expires_after_seconds"] = 4
    config["environments"]["production"]["approval"]["slack"] = False
    Path("runbook.yaml").write_text(yaml.safe_dump(config))
    questions: list[str] = []
    code, _ = run("production", ["approved"] * 50, questions)
    assert questions == [] and code == 5  # nobody else approved: it expired
