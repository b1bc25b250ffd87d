"""Dunning: opens a case per open invoice and reminds the debtor, step by step, until it is paid."""
