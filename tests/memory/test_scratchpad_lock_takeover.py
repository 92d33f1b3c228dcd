"""Taking over the lock of a dead deploy: only while the lock is still as it was seen, so that of two
commands resuming the same deploy at once exactly one goes on."""

from __future__ import annotations

from datetime import datetime, timedelta

from memory.scratchpad import Scratchpad

KEY = "checkout-api/production"


def test_one_of_two_resumers_that_saw_the_same_lock_takes_it(pad: Scratchpad, t0: datetime) -> None:
    pad.acquire_lock(KEY, "dev@host (pid 11)", "dep-1", t0, 600)
    seen = pad.get_lock(KEY)
    later = t0 + timedelta(seconds=30)
    first = pad.take_over_lock(KEY, seen, "dev@host (pid 22)", "dep-1", later, 600)
    assert first is not None and first.holder == "dev@host (pid 22)"
    assert first.acquired_at == t0 and first.expires_at == later + timedelta(seconds=600)  # same deploy: kept
    assert pad.take_over_lock(KEY, seen, "dev@host (pid 33)", "dep-1", later, 600) is None
    assert pad.get_lock(KEY) == first


def test_a_refreshed_lock_is_not_taken_over(pad: Scratchpad, t0: datetime) -> None:
    pad.acquire_lock(KEY, "dev@host (pid 11)", "dep-1", t0, 600)
    seen = pad.get_lock(KEY)
    pad.refresh_lock(KEY, "dep-1", t0 + timedelta(seconds=10), 600)  # its deploy is alive after all
    assert pad.take_over_lock(KEY, seen, "dev@host (pid 22)", "dep-1", t0 + timedelta(seconds=20), 600) is None


def test_a_free_lock_goes_to_the_first(pad: Scratchpad, t0: datetime) -> None:
    lock = pad.take_over_lock(KEY, None, "dev@host (pid 22)", "dep-1", t0, 600)
    assert lock is not None and pad.get_lock(KEY) == lock
    assert pad.take_over_lock(KEY, None, "dev@host (pid 33)", "dep-1", t0, 600) is None
