"""What a skill is handed: the world, opened once per command by the runtime (`agent.runtime`).

Skills never open a store, a backend, a checkpointer, recall or a Slack client themselves; they use
the ones in `Resources`, so every door (CLI, Slack bot, the model's tools, MCP) runs a skill on the
same wiring and tests hand in their own.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from tools.backend import Backend
from tools.clock import Clock
from tools.config import RunbookConfig

if TYPE_CHECKING:
    from memory.identity import Identity
    from memory.recall_settings import RecallSettings
    from memory.scratchpad import Scratchpad
    from tools.slack_api import SlackClient


class Resources(Protocol):
    config: RunbookConfig
    wall: Clock  # people's time: approval requests and their expiry, deploy locks

    @property
    def store(self) -> Scratchpad:
        """The shared store (deployments, events, approvals, locks, investigations)."""
        ...

    @property
    def user(self) -> str:
        """Who runs this command (in the default environment): the requester of what it starts."""
        ...

    def identity(self, environment: str | None = None) -> Identity:
        """Who runs this command in `environment`, as its identity provider establishes it."""
        ...

    @property
    def recall_settings(self) -> RecallSettings: ...

    def backend(self, environment: str) -> Backend:
        """The environment's backend, opened once per runtime; its clock is the world's time."""
        ...

    def checkpointer(self) -> AbstractContextManager[Any]:
        """A LangGraph checkpoint saver on the shared database, for as long as the block runs."""
        ...

    def slack(self) -> SlackClient | None:
        """The Slack Web API client, or None when no bot token is configured."""
        ...
