"""The attacks reuse the Slack world of tests/agent/slack (a local Web API stand-in and the real bot)."""

from tests.agent.slack.conftest import slack_world  # noqa: F401 - a fixture
