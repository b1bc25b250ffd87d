"""Payments: reads bank statements, matches what came in to open invoices, and says so."""
