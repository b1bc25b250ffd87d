"""Enrichment: customer profiles with a credit bureau's assessment, credit limits and exposure."""
