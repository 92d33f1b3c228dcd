"""The composition root: the one place that opens the world, once per command, Slack event or chat request.

    with open_runtime(config_path) as runtime:
        runtime.config, runtime.store, runtime.backend("production"), runtime.slack(), ...

It finds and reads the config (`tools.config_files`), opens the shared store named by
`database_url` (SQLite under the state folder by default, PostgreSQL for a team), opens each
environment's backend on first use (the sandbox's fleet lives in the same database, so two working
directories pointed at one database see one fleet), and opens recall and the Slack client only when
something asks for them: a command that needs no recall never imports chromadb. The CLI, the Slack
bot and the model's tools only parse input, call skills with this, and render. Skills see it through
the `skills.resources.Resources` protocol.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memory.identity import Identity
from tools.clock import Clock, SystemClock
from tools.config import RunbookConfig
from tools.config_env import Flags

if TYPE_CHECKING:
    from memory.recall_settings import RecallSettings
    from memory.scratchpad import Scratchpad
    from tools.backend import Backend
    from tools.sandbox import SandboxFleet
    from tools.sandbox.state import FleetStorage
    from tools.slack_api import SlackClient

DB_FILENAME = "runbook.db"
CHECKPOINTED_TYPES = [("memory.outcome", "Outcome")]  # classes the deploy's checkpointed state holds


@dataclass
class Runtime:
    config: RunbookConfig
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    wall: Clock = field(default_factory=SystemClock)
    _store: Scratchpad | None = None
    _fleet: SandboxFleet | None = None
    _backends: dict[str, Backend] = field(default_factory=dict)
    _slack: SlackClient | None = None
    _slack_opened: bool = False
    acting_for: Identity | None = None  # the person a Slack event or an MCP request comes from
    _identities: dict[str, Identity] = field(default_factory=dict)

    # -- what the config says ---------------------------------------------------------------------

    @cached_property
    def state_dir(self) -> Path:
        return self.config.state_path()

    @cached_property
    def database_url(self) -> str:
        """The shared database: `database_url` (env RUNBOOK_DATABASE_URL wins), else SQLite in the state folder."""
        url = self.config.database_url
        if url is None:
            return f"sqlite:///{self.state_dir / DB_FILENAME}"
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            relative = url.removeprefix("sqlite:///")
            if relative and relative != ":memory:":
                return f"sqlite:///{self.config.resolve(relative)}"
        return url

    def identity(self, environment: str | None = None) -> Identity:
        """Who runs this command in `environment` (default: the default environment), as its identity
        provider establishes it; the person a Slack event or MCP request comes from, when set."""
        if self.acting_for is not None:
            return self.acting_for
        env_name = self.config.environment(environment)[0] if (environment or self.config.default_environment) \
            else next(iter(self.config.environments))
        if env_name not in self._identities:
            from tools.identity import identity_for

            self._identities[env_name] = identity_for(self.config, env_name, sts=lambda: self._sts(env_name))
        return self._identities[env_name]

    def _sts(self, env_name: str) -> Any:
        from tools.aws.session import AwsSession

        return AwsSession(self.config.environment(env_name)[1], self.config).client("sts")

    @property
    def user(self) -> str:
        """The name of `identity()`: who runs this command in the default environment."""
        return self.identity().name

    def describe(self) -> str:
        """Which config and which backends this command uses, e.g. for the sandbox's banner."""
        backends = sorted({env.backend for env in self.config.environments.values()})
        return f"config: {self.config.label} · backend: {', '.join(backends)}"

    # -- the shared store ---------------------------------------------------------------------------

    @property
    def store(self) -> Scratchpad:
        if self._store is None:
            from memory.database import open_store

            self._store = open_store(self.database_url)
        return self._store

    @contextmanager
    def checkpointer(self) -> Iterator[Any]:
        """LangGraph checkpoints (deploys and chat sessions) in the shared database."""
        from memory.checkpoints import open_checkpointer

        self.store  # noqa: B018 - opened (checked, migrated, old files imported) before the saver
        with open_checkpointer(self.database_url, allowed_types=CHECKPOINTED_TYPES) as saver:
            yield saver

    # -- backends -----------------------------------------------------------------------------------

    def fleet_store(self) -> FleetStorage:
        """Where the sandbox's simulated fleet is kept: the shared database."""
        from tools.sandbox.state_db import DatabaseFleetStore

        return DatabaseFleetStore(self.store)

    def sandbox_fleet(self) -> SandboxFleet:
        """The simulated fleet every sandbox environment of this runtime shares (one clock)."""
        if self._fleet is None:
            from tools.sandbox import open_fleet

            self._fleet = open_fleet(self.config, self.fleet_store(), self.config.sandbox.time_scale)
        return self._fleet

    def backend(self, environment: str) -> Backend:
        env_name, env = self.config.environment(environment)
        if env_name not in self._backends:
            if env.backend == "sandbox":
                from tools.sandbox import sandbox_backend

                self._backends[env_name] = sandbox_backend(self.sandbox_fleet())
            else:
                from tools.aws import open_ecs_backend

                self._backends[env_name] = open_ecs_backend(self.config, env_name)
        return self._backends[env_name]

    # -- recall, Slack --------------------------------------------------------------------------------

    @cached_property
    def recall_settings(self) -> RecallSettings:
        from memory.recall_settings import RecallSettings

        knowledge = self.config.knowledge
        return RecallSettings(
            state_dir=self.state_dir, enabled=knowledge.enabled, folder=self.config.resolve(knowledge.folder) if knowledge.folder else None,
            embedding=knowledge.embedding, vocab_path=knowledge.vocab_path, server_url=knowledge.server_url,
            database_url=self.database_url, max_section_chars=knowledge.max_section_chars,
            wait_seconds=knowledge.wait_seconds)

    def slack(self) -> SlackClient | None:
        if not self._slack_opened:
            from tools import slack_api

            self._slack, self._slack_opened = slack_api.client_for(self.config), True
        return self._slack

    # -- the end ------------------------------------------------------------------------------------

    def close(self) -> None:
        backends, self._backends = list(self._backends.values()), {}
        try:
            for backend in backends:
                backend.close()
        finally:
            if self._store is not None:
                self._store.close()
                self._store = None

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def open_runtime(config_path: Path | None = None, *, environ: Mapping[str, str] | None = None,
                 cwd: Path | None = None, wall: Clock | None = None, flags: Flags | None = None) -> Runtime:
    """Find and read the config, with the environment's settings and the command's flags over it
    (`tools.config_env`); everything else opens when first used and closes with the runtime."""
    from tools.config_files import read_config

    environ = os.environ if environ is None else environ
    config = read_config(config_path, environ=environ, cwd=cwd, flags=flags)
    return Runtime(config=config, environ=environ, wall=wall or SystemClock())


def runtime_for(config: RunbookConfig, environ: Mapping[str, str] | None = None) -> Runtime:
    """A runtime over an already loaded config (tests, the Slack bot's long-lived config); one that was not
    read by `open_runtime` gets the environment's settings here, so every door sees the same settings."""
    from tools.config_files import apply_environment

    environ = os.environ if environ is None else environ
    return Runtime(config=apply_environment(config, environ), environ=environ)


def runtime_as(user: str | Identity, config: RunbookConfig) -> Runtime:
    """A runtime acting for `user`, as a door that identified the person itself builds one (a plain
    name is a simulated person: tests and the sandbox)."""
    runtime = runtime_for(config)
    runtime.acting_for = user if isinstance(user, Identity) else Identity(name=user, via="simulated")
    return runtime
