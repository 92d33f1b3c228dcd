"""What ask skips of LangGraph's imports is never needed to run the graph, and stays available on first use."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
from agent.lean_imports import skip_unused_modules
skip_unused_modules()
from typing import TypedDict
from langgraph.graph import END, START, StateGraph
class S(TypedDict):
    n: int
graph = StateGraph(S)
graph.add_node("inc", lambda s: {"n": s["n"] + 1})
graph.add_edge(START, "inc")
graph.add_edge("inc", END)
assert graph.compile().invoke({"n": 1}) == {"n": 2}
skipped = [m for m in ("langgraph_sdk.client", "httpx", "rich", "click", "langsmith.types.agent") if m in sys.modules]
import langgraph_sdk
assert callable(langgraph_sdk.get_client) and langgraph_sdk.__version__
import langsmith.types
assert langsmith.types.Run and langsmith.types.Agent
import httpx
assert httpx.Client
print("skipped", skipped)
"""


def test_the_graph_runs_and_the_skipped_modules_load_on_first_use() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "skipped []"  # none of them was imported to run a graph
