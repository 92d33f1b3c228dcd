"""The Slack Web API, as runbook uses it: post and update approval cards, ephemeral replies, user look-ups.

Tokens are read from the environment when a client is made (never at import time) and never
logged. `SLACK_API_URL` (or `slack.api_base_url` in runbook.yaml) points the client at a stand-in.
"""

from __future__ import annotations

import os
import re
from typing import Any

from pydantic import BaseModel

from tools.backend import BackendError
from tools.config import RunbookConfig

DEFAULT_TIMEOUT_SECONDS = 10
SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{6,}$")


class SlackApiError(BackendError):
    """Slack refused a call or could not be reached; the message names the method and Slack's error."""


class PostedMessage(BaseModel):
    channel: str  # the channel ID Slack answered with (chat.update needs it, not the name)
    ts: str


class SlackClient:
    """A thin, typed wrapper around `slack_sdk.WebClient`."""

    def __init__(self, token: str, base_url: str | None = None, web_client: Any | None = None) -> None:
        if web_client is None:
            from slack_sdk import WebClient

            kwargs: dict[str, Any] = {"token": token, "timeout": DEFAULT_TIMEOUT_SECONDS}
            if base_url:
                kwargs["base_url"] = base_url.rstrip("/") + "/"
            web_client = WebClient(**kwargs)
        self.web = web_client

    def __repr__(self) -> str:  # never show the token
        return f"SlackClient(base_url={self.web.base_url!r})"

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        from slack_sdk.errors import SlackApiError as SdkError

        try:
            response = getattr(self.web, method)(**kwargs)
        except SdkError as exc:
            raise SlackApiError(f"Slack {method} failed: {exc.response.get('error', 'unknown error')}.") from None
        except OSError as exc:
            raise SlackApiError(f"Slack {method} could not reach the Slack API ({type(exc).__name__}).") from None
        return dict(response.data) if isinstance(response.data, dict) else {}

    def post_message(self, channel: str, text: str, blocks: list[dict[str, Any]]) -> PostedMessage:
        data = self._call("chat_postMessage", channel=channel, text=text, blocks=blocks)
        return PostedMessage(channel=data["channel"], ts=data["ts"])

    def update_message(self, channel: str, ts: str, text: str,
                       blocks: list[dict[str, Any]] | None = None) -> PostedMessage:
        extra: dict[str, Any] = {} if blocks is None else {"blocks": blocks}
        data = self._call("chat_update", channel=channel, ts=ts, text=text, **extra)
        return PostedMessage(channel=data.get("channel", channel), ts=data.get("ts", ts))

    def post_ephemeral(self, channel: str, user: str, text: str) -> None:
        self._call("chat_postEphemeral", channel=channel, user=user, text=text)

    def reply_in_thread(self, channel: str, thread_ts: str, text: str) -> PostedMessage:
        data = self._call("chat_postMessage", channel=channel, text=text, thread_ts=thread_ts)
        return PostedMessage(channel=data["channel"], ts=data["ts"])

    def lookup_user_by_email(self, email: str) -> str | None:
        try:
            data = self._call("users_lookupByEmail", email=email)
        except SlackApiError:
            return None
        user = data.get("user") or {}
        return user.get("id")

    def usergroup_members(self, usergroup: str) -> list[str]:
        data = self._call("usergroups_users_list", usergroup=usergroup)
        return list(data.get("users") or [])

    def bot_user_id(self) -> str:
        return str(self._call("auth_test").get("user_id", ""))


def api_base_url(config: RunbookConfig) -> str | None:
    return os.environ.get("SLACK_API_URL") or config.slack.api_base_url


def client_for(config: RunbookConfig, token: str | None = None) -> SlackClient | None:
    """A client with the bot token (SLACK_BOT_TOKEN), or None when Slack is not configured."""
    token = token or os.environ.get("SLACK_BOT_TOKEN")
    if not token:
        return None
    return SlackClient(token, api_base_url(config))


def slack_user_for(config: RunbookConfig, client: SlackClient | None, user: str) -> str | None:
    """The Slack user ID of a runbook user: the config's mapping, else a look-up by e-mail."""
    if user.startswith("slack:"):  # a deploy asked in Slack names the Slack user itself
        user = user.removeprefix("slack:")
    if SLACK_USER_ID.match(user):
        return user
    mapped = config.slack.users.get(user)
    if mapped and "@" not in mapped:
        return mapped
    email = mapped or (f"{user}@{config.slack.email_domain}" if config.slack.email_domain else None)
    if email and client is not None:
        return client.lookup_user_by_email(email)
    return None
