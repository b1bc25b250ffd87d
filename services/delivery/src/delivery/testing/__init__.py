"""Test support shipped with the service: an in-memory e-mail provider and the contract every
`ChannelSender` for e-mail must meet."""
