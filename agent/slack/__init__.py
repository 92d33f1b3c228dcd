"""The Slack bot (`runbook slack serve`): it owns all inbound Slack traffic.

Approval clicks are checked and recorded in the shared store, where the waiting deploy finds them;
mentions and DMs are answered by the conversation agent. Deploy processes never listen to Slack.
"""
