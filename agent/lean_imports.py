"""Keep what LangGraph imports to what runbook uses.

LangGraph's runtime imports its SDK's HTTP client, which imports httpx, and httpx imports its own
command-line client (click, rich's console and markup, pygments) whenever those happen to be installed,
as they are here: a tenth of a second of CPU for a program runbook never runs. A `None` entry in
`sys.modules` is Python's documented way to say "this module is absent": httpx then keeps its stub
`main` (it guards the import itself), and the library is untouched. Measured with
`python -X importtime -c "import langgraph.graph"`.
"""

from __future__ import annotations

import sys

UNUSED = ("httpx._main",)  # httpx's command-line client


def skip_unused_modules() -> None:
    """Call before the first import of langgraph; a module already imported is left alone."""
    for name in UNUSED:
        parent = name.rsplit(".", 1)[0]
        if parent not in sys.modules:
            sys.modules.setdefault(name, None)  # type: ignore[arg-type]
