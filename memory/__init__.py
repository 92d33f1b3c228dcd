"""What runbook remembers: the scratchpad (deployments, events, approvals, locks, investigations) and
semantic recall. Import the modules themselves (`memory.scratchpad`, `memory.records`, ...): this
package imports nothing, so that a light module such as `memory.errors` stays light."""
