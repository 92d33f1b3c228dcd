"""Which database URLs runbook accepts, how it spells them, and how it shows them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from memory.database import default_database_url, display_url, normalise_database_url, open_store
from memory.engines import engine_for
from memory.scratchpad import Scratchpad


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql+psycopg://alice:pw@db.internal:5432/runbook", "postgresql+psycopg://alice:pw@db.internal:5432/runbook"),
        ("postgresql://alice:pw@db.internal/runbook", "postgresql+psycopg://alice:pw@db.internal/runbook"),
        ("postgres://alice@db.internal/runbook?sslmode=require",
         "postgresql+psycopg://alice@db.internal/runbook?sslmode=require"),
        ("  postgresql://alice@db.internal/runbook\n", "postgresql+psycopg://alice@db.internal/runbook"),
        ("sqlite:////var/lib/runbook/runbook.db", "sqlite:////var/lib/runbook/runbook.db"),
        ("sqlite://", "sqlite://"),
    ],
)
def test_accepted_urls(given: str, expected: str) -> None:
    assert normalise_database_url(given) == expected


def test_a_relative_sqlite_path_is_made_absolute(tmp_path: Path) -> None:
    # The engine is cached per URL: a relative path must not mean another file after a chdir.
    assert normalise_database_url("sqlite:///.runbook/runbook.db") == f"sqlite:///{tmp_path}/.runbook/runbook.db"
    assert default_database_url(Path(".runbook")) == f"sqlite:///{tmp_path}/.runbook/runbook.db"
    assert default_database_url(tmp_path / "s") == f"sqlite:///{tmp_path}/s/runbook.db"


@pytest.mark.parametrize(
    "given",
    ["mysql://root:hunter2@db/runbook", "postgresql+psycopg2://u:hunter2@db/x", ".runbook", "sqlite:/x.db",
     "postgresql://u:hunter2@db", "http://example.invalid/", ""],
)
def test_anything_else_is_one_sentence_saying_what_is_accepted(given: str) -> None:
    with pytest.raises(ValueError) as caught:
        normalise_database_url(given)
    message = str(caught.value)
    assert message.endswith(".") and "\n" not in message
    assert "sqlite:///PATH" in message and "postgresql://" in message
    assert "hunter2" not in message  # a password never shows, even in a URL we refuse


def test_display_masks_the_password() -> None:
    assert display_url("postgresql+psycopg://alice:s3cret@db:5432/runbook") == "postgresql+psycopg://alice:***@db:5432/runbook"
    assert display_url("sqlite:////var/lib/runbook/runbook.db") == "/var/lib/runbook/runbook.db"


def test_one_engine_per_url_per_process(tmp_path: Path) -> None:
    url = default_database_url(tmp_path / "state")
    first, second = open_store(url), Scratchpad.in_dir(tmp_path / "state")
    assert first._engine is second._engine is engine_for(url)
    first.close()
    assert second.list_deployments() == []  # closing one store leaves the shared engine usable
    other = Scratchpad(default_database_url(tmp_path / "other"))
    assert other._engine is not first._engine
    os.chdir(tmp_path / "state")
    assert Scratchpad("sqlite:///runbook.db")._engine is first._engine  # same file, same engine
