"""The canary judge end to end on the sandbox: near-threshold versions, an approver who waits 30 virtual
minutes. Two seeds each here; `evals/sandbox_judge.py` sweeps 40 (targets: >= 39 of 40 per version)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.skills.sandbox_deploys import deploy_approved_after


@pytest.mark.parametrize("seed", [1, 2])
def test_a_healthy_version_near_the_error_limit_deploys(tmp_path: Path, seed: int) -> None:
    run = deploy_approved_after(tmp_path / "run", "1.2.6", seed)  # ~0.9% errors, like the stable 1.2.2
    assert run.exit_code == 0 and run.outcome == "succeeded", run
    assert run.minutes_to_unhealthy is None


@pytest.mark.parametrize(("version", "seed"), [("1.2.7", 1), ("1.2.7", 2), ("1.2.8", 1), ("1.2.8", 2)])
def test_doubled_errors_or_latency_never_reach_production(tmp_path: Path, version: str, seed: int) -> None:
    run = deploy_approved_after(tmp_path / "run", version, seed)
    assert run.exit_code != 0 and run.outcome != "succeeded", run


@pytest.mark.parametrize("seed", [1, 2])
def test_a_version_that_degrades_after_ten_minutes_is_caught_during_the_wait(tmp_path: Path, seed: int) -> None:
    run = deploy_approved_after(tmp_path / "run", "1.2.9", seed)
    assert (run.exit_code, run.ended_in) == (4, "approval wait"), run
    # it turns bad 10 min after its task started (~8 min into the judgement), and is caught within minutes
    assert run.minutes_to_unhealthy is not None and 8 < run.minutes_to_unhealthy < 25
