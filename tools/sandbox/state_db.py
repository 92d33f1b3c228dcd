"""The sandbox fleet kept in runbook's shared database (the `sandbox-fleet` document of the scratchpad),
so that every working directory pointed at one database sees one fleet. The same interface as the
file-backed `FleetStore` in `state.py`: a cached `read()`, an atomic `transaction()`, `create_if_missing`
and `replace`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from memory.scratchpad import Scratchpad
from tools.sandbox.state import FleetState


class DatabaseFleetStore:
    def __init__(self, store: Scratchpad) -> None:
        self.store = store
        self._cache: FleetState | None = None
        self._version: int | None = None
        self._lock = threading.RLock()

    def exists(self) -> bool:
        return self.store.fleet_version() is not None

    def read(self) -> FleetState:
        """The current state (a shared, cached copy: callers must not persist changes made to it)."""
        with self._lock:
            version = self.store.fleet_version()
            if self._cache is None or version != self._version:
                found = self.store.read_fleet()
                if found is None:
                    raise FileNotFoundError("the sandbox fleet has not been seeded")
                self._version, text = found
                self._cache = FleetState.model_validate_json(text)
            return self._cache

    @contextmanager
    def transaction(self) -> Iterator[FleetState]:
        """A fresh copy of the state, written back atomically when the block ends without error."""
        with self._lock, self.store.fleet_transaction() as draft:
            if draft.text is None:
                raise FileNotFoundError("the sandbox fleet has not been seeded")
            state = FleetState.model_validate_json(draft.text)
            yield state
            draft.text = state.model_dump_json()

    def create_if_missing(self, make: Callable[[], FleetState]) -> None:
        self.store.create_fleet_if_missing(lambda: make().model_dump_json())

    def replace(self, state: FleetState) -> None:
        """Overwrite the state entirely (seeding and reset)."""
        with self._lock:
            self.store.replace_fleet(state.model_dump_json())
