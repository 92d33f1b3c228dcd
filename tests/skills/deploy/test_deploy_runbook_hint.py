"""The deploy points at the service's deploy runbook (recall), without recall in its own process and
without waiting for it: shown after the pre-checks if the lookup is back, else with the approval."""

from __future__ import annotations

import json
import os
import subprocess
from importlib import resources
from pathlib import Path

import pytest
import yaml

from tests.agent.cli_support import RUNBOOK, colleague

pytestmark = [pytest.mark.recall, pytest.mark.timeout(600)]

PROBE = """
import logging, sys
logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
sys.argv = ["runbook", "deploy", "checkout-api", "--version", "1.2.3", "-e", "production", "-o", "json"]
from agent.cli import main
try:
    main()
except SystemExit:
    pass
print(json.dumps({"chromadb_here": "chromadb" in sys.modules}))
"""


def test_a_deploy_shows_the_services_deploy_runbook_and_never_loads_recall_itself() -> None:
    env = os.environ | {"RUNBOOK_KNOWLEDGE_ENABLED": "true"}
    config = yaml.safe_load(resources.files("tools").joinpath("sandbox", "default_config.yaml").read_text())
    config["knowledge"] = {"wait_seconds": 300}  # however busy the machine: the hint is what is tested
    Path("runbook.yaml").write_text(yaml.safe_dump(config))
    subprocess.run(RUNBOOK + ["sandbox", "reset"], env=env, check=True, capture_output=True, timeout=300)
    approver = colleague("approve", "--service", "checkout-api", "--environment", "production", "--wait", "300")
    done = subprocess.run([RUNBOOK[0], "-c", "import json" + PROBE], env=env, capture_output=True, text=True,
                          timeout=300)
    approver.communicate(timeout=300)
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    hint = [e for e in lines if e.get("check") == "deploy_runbook"]
    assert hint and hint[0]["message"] == "Deploy runbook: deploy-checkout-api.md", done.stdout + done.stderr
    assert any(e.get("kind") == "deploy_finished" and e["outcome"] == "succeeded" for e in lines)
    assert lines[-1] == {"chromadb_here": False}  # the lookup ran in a child process
