"""Identity providers: who runs this command, established from the outside world, per environment.

- `os`: the account the process runs as (its effective uid's passwd entry), never USER/LOGNAME; a
  colleague on a shared host approves with `sudo -u alice runbook approve ...`.
- `aws`: the STS caller identity of the credentials the environment uses (an assumed role's session
  ARN, or an IAM user's ARN); approver lists may name the ARN or the role-session / user name.
- `simulated`: the sandbox only: RUNBOOK_USER (else the config's `user:`, else the OS account) names
  a simulated person, and every record says "simulated".
"""

from __future__ import annotations

import os
import pwd
from collections.abc import Callable
from typing import Any

from memory.identity import Identity
from tools.backend import BackendError
from tools.config import RunbookConfig


def os_account() -> str:
    """The account this process runs as, from the operating system (not from the environment)."""
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a uid with no passwd entry (some containers): the uid itself
        return f"uid:{os.geteuid()}"


def os_identity() -> Identity:
    return Identity(name=os_account(), via="os")


def simulated_identity(config: RunbookConfig) -> Identity:
    """`user` (RUNBOOK_USER, which wins over the file's `user:`, as every setting's variable does), else the
    OS account."""
    return Identity(name=config.user or os_account(), via="simulated")


def aws_identity(sts: Any) -> Identity:
    """The caller identity of an STS client's credentials."""
    try:
        arn = str(sts.get_caller_identity()["Arn"])
    except Exception as exc:  # noqa: BLE001 - no credentials, expired, unreachable: one sentence
        raise BackendError(f"runbook cannot establish who you are in AWS (sts:GetCallerIdentity failed:"
                           f" {type(exc).__name__}); check the environment's credentials.") from None
    resource = arn.split(":", 5)[-1]  # assumed-role/Deployer/alice, user/bob, federated-user/carol
    parts = resource.split("/")
    aliases = tuple(dict.fromkeys(p for p in (parts[-1], "/".join(parts[1:])) if p and p != arn))
    return Identity(name=arn, via="aws", aliases=aliases)


def identity_for(config: RunbookConfig, environment: str, sts: Callable[[], Any] | None = None) -> Identity:
    """Who runs this command in `environment`, as its `identity:` provider establishes it."""
    _, env = config.environment(environment)
    provider = env.identity_provider
    if provider == "simulated":
        return simulated_identity(config)
    if provider == "aws":
        if sts is None:
            raise BackendError(f"Environment '{environment}' establishes identity through AWS, but has no"
                               " AWS session.")
        return aws_identity(sts())
    return os_identity()
