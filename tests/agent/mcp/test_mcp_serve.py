"""`runbook mcp serve`, driven by the MCP SDK's own clients: over stdio (the client spawns the server, as
Claude Desktop does) and over streamable HTTP on a free loopback port, against the built-in sandbox in
the test's own folder."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from agent.runtime import open_runtime
from agent.tools import CATALOGUE
from tests.agent.cli_support import RUNBOOK, colleague, fleet_snapshot, run_cli

READ_TOOLS = CATALOGUE.names(kind="read")
DECISIONS = ("approve", "deny", "decide", "approval")


def over_stdio(body: Callable[[ClientSession], Awaitable[Any]], *extra: str) -> Any:
    """Run `body` with a session of the SDK's stdio client, which spawns `runbook mcp serve EXTRA`."""
    params = StdioServerParameters(command=RUNBOOK[0], args=RUNBOOK[1:] + ["mcp", "serve", *extra],
                                   env=dict(os.environ), cwd=Path.cwd())

    async def main() -> Any:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            return await body(session)

    return anyio.run(main)


def text(result: Any) -> str:
    return "\n".join(block.text for block in result.content)


def test_stdio_lists_the_read_tools_of_the_catalogue_and_answers_with_real_content() -> None:
    async def body(session: ClientSession) -> Any:
        tools = (await session.list_tools()).tools
        status = await session.call_tool("service_status", {"service": "checkout-api"})
        history = await session.call_tool("deployment_history", {})
        bad = await session.call_tool("get_metrics", {"service": "checkout-api", "window_minutes": 0})
        unknown = await session.call_tool("service_status", {"service": "nope-api"})
        return tools, status, history, bad, unknown

    tools, status, history, bad, unknown = over_stdio(body)
    assert [t.name for t in tools] == READ_TOOLS  # one MCP tool per read capability, in declaration order
    for tool in tools:  # each derived from its one declaration
        cap = CATALOGUE[tool.name]
        assert tool.description == cap.description
        assert tool.input_schema == cap.schema()["input_schema"]
        assert tool.annotations.read_only_hint is True
    assert not status.is_error
    assert "checkout-api (production): 1.2.2, 10/10 tasks healthy" in text(status)
    assert status.structured_content["status"] == "ok"
    assert status.structured_content["data"][0]["service"] == "checkout-api"
    assert not history.is_error and "No deployments recorded" in text(history)
    assert bad.is_error and "window_minutes" in text(bad)  # the catalogue's own argument validation
    assert unknown.is_error and "nope-api" in text(unknown)


def test_without_allow_changes_a_change_tool_is_absent_and_refused_and_nothing_changes() -> None:
    before = fleet_snapshot()

    async def body(session: ClientSession) -> Any:
        names = [t.name for t in (await session.list_tools()).tools]
        deploy = await session.call_tool("request_deploy", {"service": "checkout-api", "version": "1.2.3",
                                                            "environment": "production"})
        rollback = await session.call_tool("request_rollback", {"service": "checkout-api"})
        return names, deploy, rollback

    names, deploy, rollback = over_stdio(body)
    assert "request_deploy" not in names and "request_rollback" not in names
    for result in (deploy, rollback):
        assert result.is_error and result.structured_content["status"] == "refused"
        assert "--allow-changes" in text(result)
    assert fleet_snapshot() == before
    with open_runtime() as runtime:
        assert runtime.store.list_deployments(None, None, limit=5) == []


def _pending(deployment_id: str, deadline: float = 60) -> Any:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        with open_runtime() as runtime:
            approval = runtime.store.approval_for_deployment(deployment_id)
        if approval is not None:
            return approval
        time.sleep(0.2)
    raise AssertionError(f"no approval request for {deployment_id}")


def test_with_allow_changes_a_deploy_starts_as_the_runtime_identity_and_only_a_person_decides_it() -> None:
    seen: dict[str, Any] = {}

    async def body(session: ClientSession) -> None:
        names = [t.name for t in (await session.list_tools()).tools]
        seen["names"] = names
        started = await session.call_tool("request_deploy", {"service": "checkout-api", "version": "1.2.3",
                                                             "environment": "production"})
        seen["started"] = started
        deployment_id = started.structured_content["data"]["deployment_id"]
        seen["pending"] = await anyio.to_thread.run_sync(_pending, deployment_id)
        # Whatever the client sends, no call decides: there is no decision tool, and the model cannot pick
        # the identity it acts as (a name in the arguments is not an argument of any tool).
        seen["attempts"] = [await session.call_tool(name, {"deployment_id": deployment_id, "user": "alice"})
                            for name in ("approve", "approve_deployment", "deny")]
        seen["twice"] = await session.call_tool("request_deploy", {"service": "checkout-api", "version": "1.2.3",
                                                                   "environment": "production", "requester": "alice"})
        with open_runtime() as runtime:
            seen["still"] = runtime.store.approval_for_deployment(deployment_id)
        # A person, in another shell: the self-approval of the requester is refused, another's denial counts.
        own = colleague("approve", deployment_id, user="dev")
        seen["own"] = (await anyio.to_thread.run_sync(own.communicate))[0], own.returncode
        other = colleague("deny", deployment_id, "--reason", "not today", user="alice")
        seen["other"] = (await anyio.to_thread.run_sync(other.communicate))[0], other.returncode

    over_stdio(body, "--allow-changes")  # the server waits for the deploy it started before it exits
    assert "request_deploy" in seen["names"] and "request_rollback" in seen["names"]
    assert not any(word in name for name in seen["names"] for word in DECISIONS)
    started = seen["started"]
    assert not started.is_error and started.structured_content["status"] == "started"
    assert "requested by dev" in text(started) and "someone other than dev" in text(started)
    assert seen["pending"].requester == "dev" and seen["pending"].status == "pending"
    assert all(r.is_error and "There is no tool" in text(r) for r in seen["attempts"])
    assert seen["twice"].is_error and "unknown argument(s) requester" in text(seen["twice"])  # nobody is named by the client
    assert seen["still"].status == "pending"
    assert seen["own"][1] != 0 and "cannot approve" in seen["own"][0]
    assert seen["other"][1] == 0
    with open_runtime() as runtime:
        row = runtime.store.get_deployment(seen["pending"].deployment_id)
        approval = runtime.store.approval_for_deployment(row.id)
    assert row.requester == "dev" and row.status.value == "denied"
    assert approval.status == "denied" and approval.decided_by == "alice"
    assert fleet_snapshot()["version"] == "1.2.2"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _http_server(*extra: str) -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    server = subprocess.Popen(RUNBOOK + ["mcp", "serve", "--transport", "http", "--port", str(port), *extra],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    end = time.monotonic() + 60
    while True:
        assert server.poll() is None, server.communicate()
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server, f"http://127.0.0.1:{port}/mcp"
        except OSError:
            assert time.monotonic() < end, "the server did not listen"
            time.sleep(0.1)


def test_streamable_http_on_a_loopback_port() -> None:
    server, url = _http_server()
    try:

        async def main() -> Any:
            async with streamable_http_client(url) as (read, write), \
                    ClientSession(read, write) as session:
                await session.initialize()
                tools = (await session.list_tools()).tools
                alarms = await session.call_tool("get_alarms", {"service": "checkout-api"})
                deploy = await session.call_tool("request_deploy", {"service": "checkout-api", "version": "1.2.3"})
            async with Client(url) as client:  # the SDK's high-level client: the newest protocol it negotiates
                modern = await client.call_tool("get_metrics", {"service": "checkout-api"})
            return tools, alarms, deploy, modern

        tools, alarms, deploy, modern = anyio.run(main)
    finally:
        server.terminate()
        out, err = server.communicate(timeout=30)
    assert [t.name for t in tools] == READ_TOOLS
    assert not alarms.is_error and "No alarms in ALARM for checkout-api (production)" in text(alarms)
    assert deploy.is_error and deploy.structured_content["status"] == "refused"
    assert not modern.is_error and "checkout-api (production), last 10 min:" in text(modern)
    assert url in err and out == ""


def test_a_server_stopped_while_its_deploy_waits_says_so_and_resume_closes_it() -> None:
    server, url = _http_server("--allow-changes")
    try:
        async def main() -> Any:
            async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                return await session.call_tool("request_deploy", {"service": "checkout-api", "version": "1.2.3"})

        started = anyio.run(main)
        deployment_id = started.structured_content["data"]["deployment_id"]
        assert _pending(deployment_id).status == "pending"
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
    assert server.returncode == 143
    assert "1 change(s) unfinished" in err and "runbook resume ID --abort" in err
    result = run_cli("resume", deployment_id, "--abort")
    assert result.exit_code == 0, result.output
    with open_runtime() as runtime:
        assert runtime.store.approval_for_deployment(deployment_id).status != "pending"
    assert fleet_snapshot()["canary"] == []


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10"])
def test_http_is_served_on_loopback_only(host: str) -> None:
    result = run_cli("mcp", "serve", "--transport", "http", "--host", host)
    assert result.exit_code == 2
    assert "loopback address only" in result.output


def test_help_does_not_import_the_mcp_sdk() -> None:
    script = ("import sys\nfrom agent.cli import app\n"
              "for argv in (['--help'], ['mcp', '--help'], ['mcp', 'serve', '--help']):\n"
              "    try:\n        app(argv)\n    except SystemExit:\n        pass\n"
              "print('LOADED', sorted(m for m in sys.modules if m.split('.')[0] in ('mcp', 'mcp_types', 'uvicorn',"
              " 'starlette') or m == 'agent.mcp_server'))\n")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.splitlines()[-1] == "LOADED []"


def test_with_allow_changes_a_change_where_no_person_approves_is_refused() -> None:
    from agent.mcp_server import McpDoor

    with open_runtime() as runtime:
        config = runtime.config
    staging = config.environments["staging"]
    unapproved = staging.model_copy(update={"approval": staging.approval.model_copy(update={"required": False})})
    config = config.model_copy(update={"environments": {**config.environments, "staging": unapproved}})
    before = fleet_snapshot("checkout-api", "staging")

    async def main() -> Any:
        async with Client(McpDoor(config, allow_changes=True).server()) as client:  # the SDK's in-process client
            deploy = await client.call_tool("request_deploy", {"service": "checkout-api", "version": "1.2.3",
                                                               "environment": "staging"})
            rollback = await client.call_tool("request_rollback", {"service": "checkout-api", "environment": "staging"})
            return deploy, rollback

    for result in anyio.run(main):
        assert result.is_error and result.structured_content["status"] == "refused"
        assert "no person approves" in text(result)
    assert fleet_snapshot("checkout-api", "staging") == before
    with open_runtime() as runtime:
        assert runtime.store.list_deployments(None, None, limit=5) == []
