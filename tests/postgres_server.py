"""A real PostgreSQL for the test session, from the binaries the `pgserver` wheel ships.

pgserver's own `get_server()` listens on a Unix socket only (it starts postgres with `-h ""`). We want
what a team would use, TCP on 127.0.0.1, so we run the same binaries (`pgserver.initdb`,
`pgserver.pg_ctl`) ourselves: a fresh data folder, a free port on 127.0.0.1, no Unix socket.

As root (CI, containers), postgres refuses to run; like pgserver we run it as the system user
`pgserver`, created on first use with pgserver's own helper.

Authentication: `postgres` is trusted from 127.0.0.1 (the tests' superuser); every other role must
give its password (scram-sha-256), so a wrong password can be tested for real.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any

SYSTEM_USER = "pgserver"  # the account pgserver itself uses when started as root
PASSWORD_ROLE = "runbook_pw"
PASSWORD = "s3cret-Pa55word"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _pgserver() -> tuple[Any, Path]:
    """The pgserver module and the folder of its binaries (importing it warns about XDG_RUNTIME_DIR)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
        from pgserver.postgres_server import POSTGRES_BIN_PATH
    return pgserver, Path(POSTGRES_BIN_PATH)


class LocalPostgres:
    """One server: `start()`, `url(database)`, `create_database()`, `drop_database()`, `stop()`."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="runbook-pg-"))
        self.pgdata = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = 0
        self._user: str | None = None

    # -- life ---------------------------------------------------------------------------------------

    def start(self) -> None:
        pgserver, bin_path = _pgserver()
        run_as: dict[str, str] = {}
        if os.geteuid() == 0:
            from pgserver.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

            ensure_user_exists(SYSTEM_USER)
            ensure_prefix_permissions(self.root)
            ensure_prefix_permissions(bin_path)
            ensure_folder_permissions(bin_path, 0o055)
            ensure_folder_permissions(bin_path.parent / "lib", 0o044)
            self.root.chmod(0o755)
            shutil.chown(self.root, SYSTEM_USER)
            run_as = {"user": SYSTEM_USER}
            self._user = SYSTEM_USER
        pgserver.initdb(["--auth=trust", "--encoding=utf8", "-U", "postgres", "--no-sync"],
                        pgdata=self.pgdata, **run_as)
        (self.pgdata / "pg_hba.conf").write_text(
            "local all all trust\n"
            "host all postgres 127.0.0.1/32 trust\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
        )
        options = " ".join([
            "-h 127.0.0.1", "-k ''",  # TCP on loopback only, no Unix socket
            "-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off",  # a throwaway server
            "-c max_connections=300",
        ])
        last_error: subprocess.CalledProcessError | None = None
        for _attempt in range(3):  # a free port can be taken by someone else before postgres binds it
            self.port = _free_port()
            try:
                pgserver.pg_ctl(["-w", "-t", "120", "-l", str(self.log), "-o", f"{options} -p {self.port}",
                                 "start"], pgdata=self.pgdata, **run_as)
                break
            except subprocess.CalledProcessError as exc:
                last_error = exc
        else:
            log = self.log.read_text() if self.log.exists() else "(no log)"
            raise RuntimeError(f"PostgreSQL (pgserver's binaries) did not start:\n{log}") from last_error
        self.execute(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}'")

    def stop(self) -> None:
        pgserver, _bin_path = _pgserver()
        run_as = {"user": self._user} if self._user else {}
        try:
            if self.port and (self.pgdata / "postmaster.pid").exists():
                pgserver.pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=self.pgdata, **run_as)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    # -- use ----------------------------------------------------------------------------------------

    def url(self, database: str, user: str = "postgres", password: str | None = None) -> str:
        auth = user if password is None else f"{user}:{password}"
        return f"postgresql+psycopg://{auth}@127.0.0.1:{self.port}/{database}"

    def execute(self, statement: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database,
                             autocommit=True) as conn:
            conn.execute(statement)  # type: ignore[arg-type]

    def create_database(self, name: str) -> None:
        self.execute(f'CREATE DATABASE "{name}" OWNER {PASSWORD_ROLE}')

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
