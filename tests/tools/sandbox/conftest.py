"""Fixtures for the sandbox backend: the built-in config, a state directory, an open backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.backend import Backend, target_for
from tools.config import RunbookConfig, sandbox_default_config
from tools.models import ServiceTarget
from tools.sandbox import open_sandbox


@pytest.fixture
def config() -> RunbookConfig:
    return sandbox_default_config()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / ".runbook"


@pytest.fixture
def backend(config: RunbookConfig, state_dir: Path) -> Iterator[Backend]:
    opened = open_sandbox(config, state_dir)
    yield opened
    opened.close()


@pytest.fixture
def checkout(config: RunbookConfig) -> ServiceTarget:
    return target_for(config, "checkout-api", "production")
