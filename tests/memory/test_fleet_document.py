"""The sandbox fleet as one versioned document in the store: atomic, serialised across processes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from memory.scratchpad import Scratchpad


def test_no_document_until_one_is_made(pad: Scratchpad) -> None:
    assert pad.fleet_version() is None
    assert pad.read_fleet() is None
    made: list[int] = []

    def make() -> str:
        made.append(1)
        return '{"seed": 42}'

    assert pad.create_fleet_if_missing(make) is True
    assert pad.create_fleet_if_missing(make) is False
    assert made == [1]  # make() runs only when there is nothing
    assert pad.read_fleet() == (1, '{"seed": 42}')
    assert pad.fleet_version() == 1


def test_a_transaction_writes_a_new_text_with_the_version_bumped(pad: Scratchpad) -> None:
    pad.replace_fleet('{"n": 0}')
    with pad.fleet_transaction() as draft:
        assert (draft.version, draft.text) == (1, '{"n": 0}')
        draft.text = '{"n": 1}'
    assert pad.read_fleet() == (2, '{"n": 1}')
    with pad.fleet_transaction() as draft:
        pass  # nothing set: nothing written, the version stays
    with pad.fleet_transaction() as draft:
        draft.text = '{"n": 1}'  # the same text: not a change
    assert pad.fleet_version() == 2
    assert pad.replace_fleet('{"n": 9}') == 3
    assert pad.read_fleet() == (3, '{"n": 9}')


def test_a_failed_transaction_writes_nothing(pad: Scratchpad) -> None:
    pad.replace_fleet('{"n": 0}')
    with pytest.raises(RuntimeError), pad.fleet_transaction() as draft:
        draft.text = '{"n": "half"}'
        raise RuntimeError("the sandbox failed mid-change")
    assert pad.read_fleet() == (1, '{"n": 0}')


def test_a_transaction_may_create_the_document(pad: Scratchpad) -> None:
    with pad.fleet_transaction() as draft:
        assert (draft.version, draft.text) == (None, None)
        draft.text = "{}"
    assert pad.read_fleet() == (1, "{}")


def test_two_stores_on_one_database_see_one_fleet(database_url: str) -> None:
    first, second = Scratchpad(database_url), Scratchpad(database_url)
    first.replace_fleet('{"services": ["checkout-api"]}')
    assert second.read_fleet() == (1, '{"services": ["checkout-api"]}')


RACE_INCREMENT = """
import json

def RACE(pad, name):
    for _ in range(10):
        with pad.fleet_transaction() as draft:
            state = json.loads(draft.text)
            state["count"] += 1
            state["by"].append(name)
            draft.text = json.dumps(state)
    return {"done": True}
"""

RACE_CREATE = """
OPEN_AFTER_GO = True

def RACE(pad, name):
    return {"created": pad.create_fleet_if_missing(lambda: '{"by": "%s"}' % name)}
"""


def test_concurrent_read_modify_writes_lose_nothing(
    pad: Scratchpad, race: Callable[[str, str, int], list[dict[str, Any]]]
) -> None:
    pad.replace_fleet(json.dumps({"count": 0, "by": []}))
    race(pad.url, RACE_INCREMENT, 4)
    version, text = pad.read_fleet() or (0, "")
    state = json.loads(text)
    assert state["count"] == 40 and len(state["by"]) == 40
    assert version == 41


def test_of_concurrent_creators_exactly_one_writes(
    database_url: str, race: Callable[[str, str, int], list[dict[str, Any]]]
) -> None:
    results = race(database_url, RACE_CREATE, 6)
    assert sum(r["created"] for r in results) == 1
    pad = Scratchpad(database_url)
    assert pad.fleet_version() == 1
