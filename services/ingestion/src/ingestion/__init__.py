"""Ingestion: the front door for ERP data. Validates customers and invoices, stores them as
received, and announces each real change exactly once."""
