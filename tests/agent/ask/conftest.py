"""vcrpy for the Claude path: replay hand-written (or recorded) cassettes, never the network."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

# Read before the suite's autouse fixture removes it: only used when re-recording cassettes.
_RECORDING_KEY = os.environ.get("ANTHROPIC_API_KEY")
CASSETTES = Path(__file__).parent / "cassettes"


def normalized_body(raw: Any) -> dict[str, Any]:
    """What a request is matched on: model, tool names, and each message's role, text and block ids."""
    if isinstance(raw, bytes):
        raw = raw.decode()
    body = json.loads(raw or "{}")

    def block(b: dict[str, Any]) -> list[Any]:
        return [b.get("type"), b.get("text") or b.get("name") or b.get("tool_use_id")]

    return {
        "model": body.get("model"),
        "tools": [t["name"] for t in body.get("tools", [])],
        "messages": [[m["role"], m["content"] if isinstance(m["content"], str) else [block(b) for b in m["content"]]]
                     for m in body.get("messages", [])],
    }


def _json_body(r1: Any, r2: Any) -> None:
    assert normalized_body(r1.body) == normalized_body(r2.body)


def _record_mode(config: pytest.Config) -> str:
    try:
        mode = config.getoption("--record-mode")
    except ValueError:
        mode = None
    return str(mode or os.environ.get("RUNBOOK_RECORD_MODE") or "none")


@pytest.fixture
def cassette(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """`with cassette("name"):` replays tests/agent/ask/cassettes/name.yaml (the only place a test's model
    client may name the real API's host: vcrpy answers, and an unmatched request fails)."""
    import contextlib

    import vcr

    import agent.model

    recorder = vcr.VCR(
        cassette_library_dir=str(CASSETTES),
        record_mode=_record_mode(request.config),
        match_on=["method", "path", "json_body"],
        filter_headers=["x-api-key", "authorization"],
        decode_compressed_response=True,
    )
    recorder.register_matcher("json_body", _json_body)

    @contextlib.contextmanager
    def replay(name: str):  # type: ignore[no-untyped-def]
        allowed = agent.model.ALLOW_MODEL_REQUESTS
        agent.model.ALLOW_MODEL_REQUESTS = True
        try:
            with recorder.use_cassette(f"{name}.yaml") as tape:
                yield tape
        finally:
            agent.model.ALLOW_MODEL_REQUESTS = allowed

    return replay


@pytest.fixture
def claude(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The real model client (anthropic SDK), built from config, with no retries."""
    from agent.model import make_model
    from tools.config import AgentConfig

    monkeypatch.setenv("ANTHROPIC_API_KEY", _RECORDING_KEY or "sk-ant-test-not-a-key")
    return make_model(AgentConfig(), max_retries=0)
