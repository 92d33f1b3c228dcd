"""The fleet lives in one file shared by processes; virtual time persists and never goes back."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tools.backend import Backend
from tools.config import ConfigError, RunbookConfig
from tools.models import ServiceTarget
from tools.sandbox import open_sandbox, reset_sandbox
from tools.sandbox.state import STATE_FILENAME, FleetStore


def test_open_seeds_state_file(backend: Backend, state_dir: Path) -> None:
    data = json.loads((state_dir / "sandbox.json").read_text())
    assert set(data["clusters"]) == {"prod", "staging"}
    assert backend.name == "sandbox"
    assert backend.platform.label == "sandbox ECS"


def test_canary_started_in_one_backend_is_seen_by_another(
    config: RunbookConfig, state_dir: Path, checkout: ServiceTarget
) -> None:
    first = open_sandbox(config, state_dir)
    second = open_sandbox(config, state_dir)
    assert second.platform.canary_tasks(checkout, "dep-test") == []

    base = first.platform.current_task_definition(checkout)
    image = first.registry.find_image(checkout.config.image_repository, "1.2.3")
    assert image is not None
    revision = first.platform.register_revision(checkout, base, image)
    started = first.platform.start_canary(checkout, "dep-test", revision, 1)

    seen = second.platform.canary_tasks(checkout, "dep-test")
    assert [t.task_id for t in seen] == [t.task_id for t in started]
    assert seen[0].version == "1.2.3"
    assert second.platform.task_definition(checkout, revision.revision).image == image.pinned


def test_virtual_time_persists_and_never_goes_back(config: RunbookConfig, state_dir: Path) -> None:
    first = open_sandbox(config, state_dir)
    first.clock.sleep(3600)
    reached = first.clock.now()
    first.close()

    second = open_sandbox(config, state_dir)
    assert second.clock.now() >= reached
    assert second.clock.now() - reached < timedelta(minutes=1)


def test_mutations_save_the_virtual_time_without_close(
    config: RunbookConfig, state_dir: Path, checkout: ServiceTarget
) -> None:
    first = open_sandbox(config, state_dir)
    first.clock.sleep(600)
    first.platform.start_canary(checkout, "dep-test", first.platform.current_task_definition(checkout), 1)
    reached = first.clock.now()
    assert open_sandbox(config, state_dir).clock.now() >= reached - timedelta(seconds=1)


def test_reset_restores_the_seed(
    backend: Backend, config: RunbookConfig, state_dir: Path, checkout: ServiceTarget
) -> None:
    backend.platform.start_canary(checkout, "dep-test", backend.platform.current_task_definition(checkout), 2)
    backend.clock.sleep(7200)
    backend.close()

    reset_sandbox(config, FleetStore(state_dir / STATE_FILENAME))
    fresh = open_sandbox(config, state_dir)
    assert fresh.platform.canary_tasks(checkout, "dep-test") == []
    assert fresh.platform.describe_service(checkout).task_definition == "checkout-api:44"
    assert fresh.clock.now() < backend.clock.now() - timedelta(minutes=90)


def test_seed_is_deterministic(config: RunbookConfig, tmp_path: Path, checkout: ServiceTarget) -> None:
    one = open_sandbox(config, tmp_path / "one")
    two = open_sandbox(config, tmp_path / "two")
    for backend in (one, two):
        assert backend.registry.find_image(checkout.config.image_repository, "1.2.3") is not None
    image_one = one.registry.find_image(checkout.config.image_repository, "1.2.3")
    image_two = two.registry.find_image(checkout.config.image_repository, "1.2.3")
    assert image_one and image_two and image_one.digest == image_two.digest
    tasks_one = [t.task_id for t in one.platform.describe_service(checkout).tasks]
    assert tasks_one == [t.task_id for t in two.platform.describe_service(checkout).tasks]


def test_time_scale_comes_from_environment_then_config(
    config: RunbookConfig, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert open_sandbox(config, state_dir).clock.scale == 0  # type: ignore[attr-defined]
    monkeypatch.delenv("RUNBOOK_TIME_SCALE")
    assert open_sandbox(config, state_dir).clock.scale == config.sandbox.time_scale  # type: ignore[attr-defined]
    monkeypatch.setenv("RUNBOOK_TIME_SCALE", "fast")
    with pytest.raises(ConfigError, match="RUNBOOK_TIME_SCALE"):
        open_sandbox(config, state_dir)


_WRITER = """
import sys
from pathlib import Path
from tools.config import sandbox_default_config
from tools.sandbox import open_sandbox

backend = open_sandbox(sandbox_default_config(), Path(sys.argv[1]))
for i in range(15):
    backend.platform.fleet.set_secret_readable(f"ref-{sys.argv[2]}-{i}", True)
backend.close()
"""


def test_concurrent_processes_lose_no_write(backend: Backend, state_dir: Path) -> None:
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(state_dir), str(n)], cwd=Path(__file__).parents[3]
        )
        for n in range(4)
    ]
    assert [w.wait(timeout=60) for w in writers] == [0, 0, 0, 0]
    secrets = json.loads((state_dir / "sandbox.json").read_text())["secrets"]
    assert {f"ref-{n}-{i}" for n in range(4) for i in range(15)} <= set(secrets)
    assert backend.secrets.check_readable("X", "ref-3-14").readable  # this process sees the change
