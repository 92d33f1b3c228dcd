"""`runbook knowledge add | search | sync`."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from agent.cli import app
from memory.scratchpad import Scratchpad

runner = CliRunner()


def test_search_finds_the_bundled_runbook_as_json() -> None:
    result = runner.invoke(app, ["knowledge", "search", "Redis connection errors", "-n", "2", "-o", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["query"] == "Redis connection errors" and len(payload["hits"]) == 2
    assert payload["hits"][0]["source"].endswith("redis-connection-errors.md")
    assert Path(".runbook/recall").is_dir()


def test_search_plain_lists_heading_source_and_score() -> None:
    args = ["knowledge", "search", "deploy payments-api", "-s", "payments-api", "-k", "runbook"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "1. [runbook] Deploy runbook: payments-api" in result.stdout and "score" in result.stdout


def test_add_then_search_a_new_document(write) -> None:
    text = "# Kafka consumer lag\n\nConsumers fall behind.\n\n## Mitigate\n\nAdd consumers to the group.\n"
    write(Path("kb/kafka.md"), text)
    result = runner.invoke(app, ["knowledge", "add", "kb"])
    assert result.exit_code == 0, result.output
    assert "1 file(s), 2 section(s)" in result.stdout
    found = runner.invoke(app, ["knowledge", "search", "kafka consumer lag", "-n", "1", "-o", "json"])
    assert json.loads(found.stdout)["hits"][0]["heading"] == "Kafka consumer lag"


def test_sync_indexes_the_configured_folder_and_the_scratchpad(write, make_deployment) -> None:
    write(Path("notes/disk.md"), "# Disk full\n\nDelete old logs.\n")
    from tools.config import sandbox_default_config

    config = sandbox_default_config().model_dump(mode="json", exclude={"source"})
    config["knowledge"] = {"folder": "notes"}
    import yaml

    Path("runbook.yaml").write_text(yaml.safe_dump(config))
    with Scratchpad.in_dir(Path(".runbook")) as pad:
        pad.record_deployment(make_deployment(id="dep-sync-1", status="canary_failed"))
    result = runner.invoke(app, ["knowledge", "sync"])
    assert result.exit_code == 0, result.output
    assert "1 section(s)" in result.stdout and "1 deployment(s)" in result.stdout
    found = runner.invoke(app, ["knowledge", "search", "canary failed", "-k", "deployment", "-o", "json"])
    assert json.loads(found.stdout)["hits"][0]["deployment_id"] == "dep-sync-1"


def test_user_errors_are_one_sentence() -> None:
    missing = runner.invoke(app, ["knowledge", "add", "nowhere"])
    assert missing.exit_code == 2 and "no such file or folder" in missing.output
    bad_kind = runner.invoke(app, ["knowledge", "search", "x", "--kind", "gossip"])
    assert bad_kind.exit_code == 2 and "unknown --kind gossip" in bad_kind.output
    assert "Traceback" not in missing.output + bad_kind.output
