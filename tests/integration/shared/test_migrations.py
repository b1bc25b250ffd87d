import uuid
from importlib.resources import files

import asyncpg
import pytest

from settle_local.postgres import Postgres
from settle_shared import inbox
from settle_shared.migrations import Migration, MigrationError, load, migrate

SHARED = load("settle_shared", files("settle_shared") / "migrations_sql")


async def test_migrations_create_the_database_and_apply_each_file_once(postgres: Postgres) -> None:
    url = postgres.url(f"created_{uuid.uuid4().hex[:10]}")
    extra = Migration("svc", "0001_things", "CREATE TABLE things (id int PRIMARY KEY);")

    first = await migrate(url, [*SHARED, extra])
    second = await migrate(url, [*SHARED, extra])

    assert [m.version for m in first] == [*(m.version for m in SHARED), "0001_things"]
    assert second == []
    connection = await asyncpg.connect(url)
    try:
        assert await connection.fetchval("SELECT count(*) FROM things") == 0
    finally:
        await connection.close()
    await postgres.drop_database(url.rsplit("/", 1)[1])


async def test_an_edited_migration_is_refused(fresh_database: str) -> None:
    await migrate(fresh_database, [Migration("svc", "0001_a", "CREATE TABLE a (id int);")])
    with pytest.raises(MigrationError, match="was changed after it was applied"):
        await migrate(fresh_database, [Migration("svc", "0001_a", "CREATE TABLE a (id bigint);")])


async def test_a_failing_migration_leaves_nothing_half_applied(fresh_database: str) -> None:
    broken = Migration(
        "svc", "0001_broken", "CREATE TABLE b (id int); SELECT * FROM missing_table;"
    )
    with pytest.raises(asyncpg.UndefinedTableError):
        await migrate(fresh_database, [broken])
    connection = await asyncpg.connect(fresh_database)
    try:
        assert await connection.fetchval("SELECT to_regclass('b')") is None
        assert await connection.fetchval("SELECT count(*) FROM schema_migrations") == 0
    finally:
        await connection.close()


async def test_the_inbox_admits_an_event_once_per_consumer(fresh_database: str) -> None:
    await migrate(fresh_database, SHARED)
    connection = await asyncpg.connect(fresh_database)
    try:
        assert await inbox.first_delivery(connection, "dunning", "e-1", "t") is True
        assert await inbox.first_delivery(connection, "dunning", "e-1", "t") is False
        assert await inbox.first_delivery(connection, "payments", "e-1", "t") is True
    finally:
        await connection.close()


async def test_a_batch_claims_each_new_event_once_and_can_forget_refused_ones(
    fresh_database: str,
) -> None:
    await migrate(fresh_database, SHARED)
    connection = await asyncpg.connect(fresh_database)
    try:
        await inbox.first_delivery(connection, "ingestion", "e-1", "t")
        fresh = await inbox.first_deliveries(
            connection, "ingestion", [("e-1", "t"), ("e-2", "t"), ("e-2", "t"), ("e-3", "t")]
        )
        assert fresh == {"e-2", "e-3"}
        await inbox.forget(connection, "ingestion", ["e-3"])
        assert await inbox.first_deliveries(connection, "ingestion", [("e-3", "t")]) == {"e-3"}
    finally:
        await connection.close()
