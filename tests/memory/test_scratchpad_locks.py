"""Locks: one deploy per service+environment, with a visible holder and an expiry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from memory.records import LockHeld
from memory.scratchpad import Scratchpad

KEY = "checkout-api/production"


def test_acquire_and_get(pad: Scratchpad, t0: datetime) -> None:
    assert pad.get_lock(KEY) is None
    lock = pad.acquire_lock(KEY, "alice@laptop 4242", "dep-1", t0, 600)
    assert (lock.key, lock.holder, lock.deployment_id) == (KEY, "alice@laptop 4242", "dep-1")
    assert (lock.acquired_at, lock.expires_at) == (t0, t0 + timedelta(minutes=10))
    assert pad.get_lock(KEY) == lock
    assert pad.get_lock(KEY, now=t0 + timedelta(minutes=9)) == lock
    assert pad.get_lock(KEY, now=t0 + timedelta(minutes=10)) is None  # expired
    assert pad.get_lock("checkout-api/staging") is None


def test_contention_names_holder_and_since_when(pad: Scratchpad, t0: datetime) -> None:
    first = pad.acquire_lock(KEY, "alice@laptop 4242", "dep-1", t0, 600)
    with pytest.raises(LockHeld) as caught:
        pad.acquire_lock(KEY, "bob@ci 77", "dep-2", t0 + timedelta(minutes=5), 600)
    assert caught.value.lock == first
    message = str(caught.value)
    assert "alice@laptop 4242" in message and "dep-1" in message and KEY in message
    assert "since 2026-11-26 15:10:00 UTC" in message
    assert pad.get_lock(KEY) == first
    # Another service+environment is independent.
    pad.acquire_lock("checkout-api/staging", "bob@ci 77", "dep-2", t0, 600)


def test_expired_lock_is_taken_over(pad: Scratchpad, t0: datetime) -> None:
    pad.acquire_lock(KEY, "alice@laptop 4242", "dep-1", t0, 60)
    later = t0 + timedelta(seconds=61)
    lock = pad.acquire_lock(KEY, "bob@ci 77", "dep-2", later, 60)
    assert (lock.holder, lock.deployment_id, lock.acquired_at) == ("bob@ci 77", "dep-2", later)
    assert pad.get_lock(KEY) == lock
    # The old owner cannot release or refresh what is no longer theirs.
    pad.release_lock(KEY, "dep-1")
    assert pad.get_lock(KEY) == lock
    with pytest.raises(LockHeld):
        pad.refresh_lock(KEY, "dep-1", later, 60)


def test_release_only_by_owner(pad: Scratchpad, t0: datetime) -> None:
    lock = pad.acquire_lock(KEY, "alice@laptop 4242", "dep-1", t0, 600)
    pad.release_lock(KEY, "dep-2")
    assert pad.get_lock(KEY) == lock
    pad.release_lock("other/key", "dep-1")
    assert pad.get_lock(KEY) == lock
    pad.release_lock(KEY, "dep-1")
    assert pad.get_lock(KEY) is None
    pad.release_lock(KEY, "dep-1")  # releasing a free lock is fine
    assert pad.acquire_lock(KEY, "bob@ci 77", "dep-2", t0, 600).holder == "bob@ci 77"


def test_refresh_extends_the_owners_lock(pad: Scratchpad, t0: datetime) -> None:
    pad.acquire_lock(KEY, "alice@laptop 4242", "dep-1", t0, 60)
    pad.refresh_lock(KEY, "dep-1", t0 + timedelta(seconds=50), 60)
    lock = pad.get_lock(KEY, now=t0 + timedelta(seconds=100))
    assert lock is not None and lock.expires_at == t0 + timedelta(seconds=110) and lock.acquired_at == t0
    with pytest.raises(LockHeld):
        pad.acquire_lock(KEY, "bob@ci 77", "dep-2", t0 + timedelta(seconds=100), 60)
    with pytest.raises(KeyError):
        pad.refresh_lock("free/key", "dep-1", t0, 60)


def test_the_holding_deployment_may_acquire_again(pad: Scratchpad, t0: datetime) -> None:
    pad.acquire_lock(KEY, "alice@laptop 4242", "dep-1", t0, 60)
    resumed = pad.acquire_lock(KEY, "alice@laptop 5555", "dep-1", t0 + timedelta(seconds=30), 60)
    assert resumed.holder == "alice@laptop 5555"
    assert resumed.acquired_at == t0
    assert resumed.expires_at == t0 + timedelta(seconds=90)


RACE_LOCK = """
from datetime import UTC, datetime
from memory.records import LockHeld

def RACE(pad, name):
    now = datetime(2026, 11, 26, 15, 20, tzinfo=UTC)
    try:
        lock = pad.acquire_lock("checkout-api/production", name + "@host", "dep-" + name, now, 600)
    except LockHeld as held:
        return {"won": False, "holder": held.lock.holder}
    return {"won": True, "holder": lock.holder}
"""


@pytest.mark.parametrize("expired_first", [False, True], ids=["free", "expired"])
def test_concurrent_processes_exactly_one_acquires(
    pad: Scratchpad,
    t0: datetime,
    race: Callable[[str, str, int], list[dict[str, Any]]],
    expired_first: bool,
) -> None:
    if expired_first:
        pad.acquire_lock(KEY, "crashed@host 1", "dep-crashed", t0, 60)  # long expired by 15:20
    results = race(pad.url, RACE_LOCK, 6)

    assert sum(r["won"] for r in results) == 1
    lock = pad.get_lock(KEY)
    assert lock is not None and lock.holder != "crashed@host 1"
    assert {r["holder"] for r in results} == {lock.holder}


def test_a_lock_records_where_its_holder_runs(pad: Scratchpad, t0: datetime) -> None:
    lock = pad.acquire_lock(KEY, "alice@laptop (pid 4242)", "dep-1", t0, 60,
                            host="laptop", pid=4242, boot_id="b00t-1")
    assert (lock.host, lock.pid, lock.boot_id) == ("laptop", 4242, "b00t-1")
    assert pad.get_lock(KEY) == lock
    # Re-acquired by its own deployment from another process: where it runs now.
    resumed = pad.acquire_lock(KEY, "alice@laptop (pid 5555)", "dep-1", t0 + timedelta(seconds=10), 60,
                               host="laptop", pid=5555, boot_id="b00t-1")
    assert (resumed.pid, resumed.acquired_at) == (5555, t0)
    assert pad.get_lock(KEY) == resumed
    # Taken over after expiry by someone who does not say where: nothing stale is left behind.
    later = t0 + timedelta(minutes=5)
    taken = pad.acquire_lock(KEY, "bob@ci", "dep-2", later, 60)
    assert (taken.host, taken.pid, taken.boot_id) == (None, None, None)
    assert pad.get_lock(KEY) == taken


def test_take_over_lock_records_where_the_new_holder_runs(pad: Scratchpad, t0: datetime) -> None:
    pad.acquire_lock(KEY, "alice@laptop (pid 11)", "dep-1", t0, 600, host="laptop", pid=11, boot_id="b1")
    seen = pad.get_lock(KEY)
    assert seen is not None and seen.pid == 11
    taken = pad.take_over_lock(KEY, seen, "bob@desk (pid 22)", "dep-1", t0 + timedelta(seconds=30), 600,
                               host="desk", pid=22, boot_id="b2")
    assert taken is not None and (taken.host, taken.pid, taken.boot_id) == ("desk", 22, "b2")
    assert pad.get_lock(KEY) == taken
    free = pad.take_over_lock("other/key", None, "carol@box (pid 33)", "dep-3", t0, 600, host="box", pid=33)
    assert free is not None and pad.get_lock("other/key") == free and free.pid == 33
    # The positional signature is unchanged: old callers store no host.
    plain = pad.acquire_lock("third/key", "dave", "dep-4", t0, 60)
    assert plain.host is None and pad.get_lock("third/key") == plain
