"""Who a person is, and how runbook knows it. Identities are established, never declared: the OS
account a command runs as, the AWS caller identity of its credentials, the Slack user who clicked.
The only self-declared name is the sandbox's simulated person, and every record of it says so."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict

Via = Literal["os", "aws", "simulated", "slack", "mcp"]


class Identity(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str  # canonical: the OS account, the STS ARN, the mapped runbook name or "slack:U…"
    via: Via
    aliases: tuple[str, ...] = ()  # other names an approver list may use (an AWS role-session name)

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def is_in(self, names: Iterable[str]) -> bool:
        wanted = set(names)
        return any(name in wanted for name in self.names)

    def same_person(self, name: str) -> bool:
        """Whether a recorded requester name is this identity (by any of its names)."""
        return name in self.names

    @property
    def label(self) -> str:
        """How records and messages show it: "bob", "dev (simulated)", "slack:U0ALICE001"."""
        return f"{self.name} (simulated)" if self.via == "simulated" else self.name
