"""The package as a user installs it: a wheel built from this checkout, installed with pip into a fresh
venv (its dependencies from the configured index), runs `runbook --version`, the sandbox demo and a
knowledge search that recalls with MiniLM (its tokenizer ships in the wheel).

About a minute with a warm pip cache, and it needs the index: run with `make test-wheel`
(`pytest -m wheel tests/test_wheel_install.py`); the default suite leaves it out.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

pytestmark = [pytest.mark.wheel, pytest.mark.timeout(1200)]

ROOT = Path(__file__).resolve().parents[1]


def _run(argv: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("RUNBOOK_", "VIRTUAL_ENV", "PYTHON"))}
    return subprocess.run(argv, cwd=cwd, env=clean | env, capture_output=True, text=True, timeout=900, check=False)


def test_a_wheel_installed_with_pip_in_a_fresh_venv_works_as_make_demo_does(tmp_path: Path) -> None:
    source, dist, home = tmp_path / "src", tmp_path / "dist", tmp_path / "work"
    source.mkdir(), home.mkdir()
    # The committed tree only, as a release would be built (no .venv, no state, no caches).
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(source)], input=archive, check=True)
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", str(source), "-w", str(dist)], tmp_path)
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("runbook_sre-*.whl")

    venv.create(tmp_path / "venv", with_pip=True)
    bin_dir = tmp_path / "venv" / ("Scripts" if os.name == "nt" else "bin")
    installed = _run([str(bin_dir / "pip"), "install", "-q", "--find-links", str(dist), "runbook-sre"], tmp_path)
    assert installed.returncode == 0, installed.stderr
    runbook = str(bin_dir / "runbook")

    version = _run([runbook, "--version"], home)
    assert version.returncode == 0 and version.stdout.startswith("runbook ") and "runbook-sre" in version.stdout
    assert wheel.name.split("-")[1] in version.stdout

    demo = _run([runbook, "-o", "json", "sandbox", "demo"], home, RUNBOOK_TIME_SCALE="0",
                RUNBOOK_KNOWLEDGE_ENABLED="false")
    events = [json.loads(line) for line in demo.stdout.splitlines()]
    assert demo.returncode == 0, demo.stderr
    assert events[-1]["kind"] == "deploy_finished" and events[-1]["outcome"] == "succeeded", events[-1]

    search = _run([runbook, "-o", "json", "knowledge", "search", "redis connection errors"], home,
                  RUNBOOK_KNOWLEDGE_ENABLED="true")
    assert search.returncode == 0, search.stderr
    found = json.loads(search.stdout)
    assert found["model"].startswith("minilm") and found["hits"], found  # not the lexical fallback
    assert found["hits"][0]["heading"] == "Redis connection errors"
