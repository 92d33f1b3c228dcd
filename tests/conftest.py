"""Shared fixtures. No test touches the network; each test gets its own state directory."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    # Instant sandbox time, a known requester, no colours, and nothing from the developer's shell.
    monkeypatch.setenv("RUNBOOK_TIME_SCALE", "0")
    monkeypatch.setenv("RUNBOOK_USER", "dev")
    monkeypatch.setenv("NO_COLOR", "1")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "ANTHROPIC_API_KEY", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
