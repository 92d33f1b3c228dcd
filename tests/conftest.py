"""Shared fixtures. No test touches the network; each test gets its own state directory."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    # The option pytest-recording would add: `pytest tests/agent/ask --record-mode=once` with a real
    # ANTHROPIC_API_KEY replaces the hand-written cassettes with recordings.
    parser.addoption("--record-mode", default=None, help="vcrpy record mode for the Anthropic cassettes (default: none)")


@pytest.fixture(autouse=True)
def _isolated_environment(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    # Instant sandbox time, a known requester, no colours, and nothing from the developer's shell.
    monkeypatch.setenv("RUNBOOK_TIME_SCALE", "0")
    monkeypatch.setenv("RUNBOOK_USER", "dev")
    monkeypatch.setenv("NO_COLOR", "1")
    # Recall (chromadb and an embedding model, about a second of CPU and 400 MB per process) only where
    # the test is about it: @pytest.mark.recall. Elsewhere commands go on without it, as they would
    # with knowledge.enabled: false.
    monkeypatch.setenv("RUNBOOK_KNOWLEDGE_ENABLED", "true" if request.node.get_closest_marker("recall") else "false")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "ANTHROPIC_API_KEY", "SLACK_BOT_TOKEN", "RUNBOOK_CONFIG",
                 "RUNBOOK_DATABASE_URL", "RUNBOOK_KNOWLEDGE_URL", "XDG_CONFIG_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.config/runbook/runbook.yaml of the developer's
    monkeypatch.chdir(tmp_path)
