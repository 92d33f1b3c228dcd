"""Helpers: run the real deploy skill on the sandbox, with a person approving from another thread."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

from memory.scratchpad import Scratchpad
from skills import approval as gate
from skills.deploy import DeployRequest, run_deploy
from tools.config import RunbookConfig


def approve_from_thread(state_dir: Path, config: RunbookConfig, service: str, environment: str,
                        approver: str = "alice") -> threading.Thread:
    """A colleague who approves the first pending request for service/environment, through the gate."""

    def work() -> None:
        store = Scratchpad.in_dir(state_dir)
        try:
            for _ in range(600):
                pending = store.pending_approvals(service, environment)
                if pending:
                    request = pending[0]
                    gate.decide(store, request, "approved", by=approver, channel="terminal",
                                now=request.requested_at + timedelta(seconds=1),
                                policy=config.environment(environment)[1].approval)
                    return
                time.sleep(0.05)
        finally:
            store.close()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def deploy_with_approval(config: RunbookConfig, state_dir: Path, version: str, service: str = "checkout-api",
                         environment: str = "production", requester: str = "dev") -> int:
    thread = approve_from_thread(state_dir, config, service, environment)
    request = DeployRequest(service=service, version=version, environment=environment, requester=requester)
    code = run_deploy(config, request, lambda event: None, state_dir)
    thread.join(timeout=30)
    return code
