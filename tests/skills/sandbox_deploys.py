"""Helpers: run the real deploy skill on the sandbox, with a person approving from another thread."""

from __future__ import annotations

import threading
import time

from agent.runtime import Runtime
from memory.identity import Identity
from memory.scratchpad import Scratchpad
from skills import approval as gate
from skills.deploy import DeployRequest, run_deploy


def approve_from_thread(runtime: Runtime, service: str, environment: str, approver: str = "alice") -> threading.Thread:
    """A colleague who approves the first pending request for service/environment, through the gate,
    with a store connection of their own."""
    policy = runtime.config.environment(environment)[1].approval
    runtime.store  # noqa: B018 - opens (creates) the database before the colleague connects to it

    def work() -> None:
        store = Scratchpad(runtime.database_url)
        try:
            for _ in range(600):
                pending = store.pending_approvals(service, environment)
                if pending:
                    gate.decide(store, pending[0], "approved", by=Identity(name=approver, via="simulated"), channel="terminal",
                                now=runtime.wall.now(), policy=policy)
                    return
                time.sleep(0.05)
        finally:
            store.close()

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def deploy_with_approval(runtime: Runtime, version: str, service: str = "checkout-api",
                         environment: str = "production", requester: str = "dev") -> int:
    thread = approve_from_thread(runtime, service, environment)
    request = DeployRequest(service=service, version=version, environment=environment, requester=requester)
    code = run_deploy(runtime, request, lambda event: None)
    thread.join(timeout=30)
    return code
