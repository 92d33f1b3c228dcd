"""Keep what LangGraph imports to what runbook uses. Measured with `python -X importtime -c "import langgraph.graph"`.

- LangGraph's runtime needs one Protocol of its SDK (`langgraph_sdk.auth.types.BaseUser`), but importing
  it runs the SDK package's `__init__`, which imports the SDK's HTTP clients (httpx, websockets and
  their streams). Likewise LangChain's tracer needs one module of `langsmith.types`, whose `__init__`
  imports its 180 generated API models. Each such package is stood in for by a module with the real
  `__path__`: its submodules import as usual, and the first read of an attribute of the package itself
  runs the real `__init__`, so nothing that uses them breaks; runbook never does.
- httpx imports its own command-line client (click, rich's console and markup, pygments) whenever those
  happen to be installed. A `None` entry in `sys.modules` is Python's documented way to say "this
  module is absent": httpx then keeps its stub `main` (it guards that import itself).

Together they are about a third of the CPU time of importing LangGraph. A module already imported is left alone.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import Any

ABSENT = ("httpx._main",)  # httpx's command-line client
DEFERRED = ("langgraph_sdk", "langsmith.types")  # packages whose __init__ runs on first use of the package itself


def _defer(name: str) -> None:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None or not spec.submodule_search_locations:
        return
    module = importlib.util.module_from_spec(spec)
    loader = spec.loader

    def load(attribute: str) -> Any:
        del module.__dict__["__getattr__"]
        loader.exec_module(module)  # the package's own __init__, in this module, once
        try:
            return module.__dict__[attribute]
        except KeyError:
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}") from None

    module.__dict__["__getattr__"] = load
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:  # as the import system does: the package is an attribute of its parent
        setattr(sys.modules[parent], child, module)


def skip_unused_modules() -> None:
    """Call before the first import of langgraph."""
    for name in ABSENT:
        if name.rsplit(".", 1)[0] not in sys.modules:
            sys.modules.setdefault(name, None)  # type: ignore[arg-type]
    for name in DEFERRED:
        if name not in sys.modules:
            _defer(name)


def is_deferred(module: ModuleType) -> bool:
    return "__getattr__" in module.__dict__ and getattr(module.__dict__["__getattr__"], "__name__", "") == "load"
