"""Simulated outside parties speaking the real protocols: ERP, credit bureau, bank, SMTP, providers."""
