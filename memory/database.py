"""runbook's state as one database named by URL: SQLite under ``.runbook/`` by default, PostgreSQL for a team.

    store = open_store(url)   # checked, migrated, a 0.1.0 folder's side files imported

``open_store`` is what every door should call. ``Scratchpad(url)`` and ``Scratchpad.in_dir(dir)``
still open and migrate the database, but leave a 0.1.0 folder's side files (and the checks on a
missing database next to them) alone, for code that still writes those files itself.
"""

from __future__ import annotations

from memory.engines import dispose_engine, dispose_engines
from memory.errors import StateError, UserError
from memory.scratchpad import Scratchpad
from memory.sqlite_files import check_history_not_lost, prepare_sqlite_location
from memory.urls import default_database_url, display_url, normalise_database_url, sqlite_path

__all__ = [
    "StateError",
    "UserError",
    "default_database_url",
    "display_url",
    "dispose_engine",
    "dispose_engines",
    "normalise_database_url",
    "open_store",
]


def open_store(url: str) -> Scratchpad:
    """The store at ``url``, ready to use. ValueError for a URL runbook does not accept; StateError
    (one sentence naming the file or URL) for state that cannot be used; nothing is changed then."""
    from memory.legacy import import_old_state

    url = normalise_database_url(url)
    path = sqlite_path(url)
    if path is not None:
        prepare_sqlite_location(path)
        check_history_not_lost(path)
    store = Scratchpad(url)
    if path is not None:
        import_old_state(path, url)
    return store
