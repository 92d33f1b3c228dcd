"""The canary judge end to end on the sandbox: near-threshold versions, an approver who waits 30 virtual
minutes. Ten seeds per version here; `evals/sandbox_judge.py` sweeps 40 (targets: >= 39 of 40 per version).

A judge that bounds its error at alpha=0.05 is wrong now and then by design (measured over 200 seeds:
1.2.6 stopped 1%, 1.2.7 let through 1.5%), and the sandbox's noise is keyed on the wall clock, so a single
deploy is not a reliable test: each case allows 2 of its 10 deploys to go the other way. At the measured
rates a case then fails about 1 time in 2,700; a judge wrong 1 time in 3 fails it 7 times in 10.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.skills.sandbox_deploys import JudgedRun, deploy_approved_after

SEEDS = range(1, 11)
ALLOWED_THE_OTHER_WAY = 2


def not_as_expected(tmp_path: Path, version: str, expected: Callable[[JudgedRun], bool]) -> list[JudgedRun]:
    runs = [deploy_approved_after(tmp_path / f"seed-{seed}", version, seed) for seed in SEEDS]
    return [run for run in runs if not expected(run)]


def test_a_healthy_version_near_the_error_limit_deploys(tmp_path: Path) -> None:
    # 1.2.6 has ~0.9% errors, like the stable 1.2.2
    wrong = not_as_expected(tmp_path, "1.2.6", lambda run: (run.exit_code, run.outcome) == (0, "succeeded")
                            and run.minutes_to_unhealthy is None)
    assert len(wrong) <= ALLOWED_THE_OTHER_WAY, wrong


@pytest.mark.parametrize("version", ["1.2.7", "1.2.8"])
def test_doubled_errors_or_latency_never_reach_production(tmp_path: Path, version: str) -> None:
    wrong = not_as_expected(tmp_path, version, lambda run: run.exit_code != 0 and run.outcome != "succeeded")
    assert len(wrong) <= ALLOWED_THE_OTHER_WAY, wrong


def test_a_version_that_degrades_after_ten_minutes_is_caught_during_the_wait(tmp_path: Path) -> None:
    # it turns bad 10 min after its task started (~8 min into the judgement), and is caught within minutes
    wrong = not_as_expected(tmp_path, "1.2.9", lambda run: (run.exit_code, run.ended_in) == (4, "approval wait")
                            and run.minutes_to_unhealthy is not None and 8 < run.minutes_to_unhealthy < 25)
    assert len(wrong) <= ALLOWED_THE_OTHER_WAY, wrong
