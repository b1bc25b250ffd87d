"""Delivery: renders each requested reminder in the debtor's language and sends it, at most once."""
