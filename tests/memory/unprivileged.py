"""Run a snippet in a child process that file permissions apply to, even when the tests run as root.

As root (CI, containers) a chmod stops nobody: the child gives up CAP_DAC_OVERRIDE and
CAP_DAC_READ_SEARCH before it starts (prctl PR_CAPBSET_DROP; root keeps its uid, so the repository
and the virtualenv stay readable). As another user, chmod works as it is and the child runs plainly.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2

_PRELUDE = """
import json, sys
from memory.errors import StateError

def report(fn):
    try:
        value = fn()
    except StateError as exc:
        print(json.dumps({"error": str(exc), "exit_code": exc.exit_code}))
    else:
        print(json.dumps({"ok": value}))
"""


def _drop_file_privileges() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def run_unprivileged(body: str, *args: str) -> dict[str, Any]:
    """Run ``body`` (which calls ``report(lambda: ...)`` once) and return what it reported."""
    env = os.environ | {"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.run(
        [sys.executable, "-c", _PRELUDE + textwrap.dedent(body), *args],
        capture_output=True, text=True, env=env, timeout=120,
        preexec_fn=_drop_file_privileges if os.geteuid() == 0 else None,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result
