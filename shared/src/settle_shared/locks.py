"""Transaction-scoped advisory locks: serialise work on one key (a customer, a tenant's imports)
across consumers, HTTP requests and replicas, without a table to lock."""

from __future__ import annotations

from settle_shared.pg import Connection


async def lock_until_commit(connection: Connection, key: str) -> None:
    """Wait for, then hold until this transaction ends, the lock named `key`."""
    await connection.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", key)


def customer_key(tenant: str, customer_id: str) -> str:
    """The same key the customer's events are partitioned by."""
    return f"{tenant}:{customer_id}"
