"""The local PostgreSQL runner: a real server that starts, hosts databases, and stops cleanly."""

import os
import uuid
from pathlib import Path

import asyncpg

from settle_local.postgres import Postgres, PostgresServer


async def _database_exists(postgres: Postgres, name: str) -> bool:
    connection = await asyncpg.connect(postgres.admin_url)
    try:
        return bool(await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))
    finally:
        await connection.close()


async def test_a_fresh_database_runs_queries(fresh_database: str) -> None:
    connection = await asyncpg.connect(fresh_database)
    try:
        await connection.execute("CREATE TABLE invoice (id int PRIMARY KEY, amount numeric)")
        await connection.execute("INSERT INTO invoice VALUES (1, 125.50)")
        total = await connection.fetchval("SELECT sum(amount) FROM invoice")
    finally:
        await connection.close()

    assert str(total) == "125.50"


async def test_creating_a_database_twice_creates_it_once(postgres: Postgres) -> None:
    name = f"test_{uuid.uuid4().hex[:12]}"

    await postgres.create_database(name)
    await postgres.create_database(name)

    assert await _database_exists(postgres, name)
    await postgres.drop_database(name)


async def test_dropping_a_database_twice_drops_it_even_while_connected(postgres: Postgres) -> None:
    name = f"test_{uuid.uuid4().hex[:12]}"
    await postgres.create_database(name)
    lingering = await asyncpg.connect(postgres.url(name))

    await postgres.drop_database(name)
    await postgres.drop_database(name)

    assert not await _database_exists(postgres, name)
    lingering.terminate()


def _process_group_is_gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_a_stopped_server_leaves_no_process_and_refuses_connections(tmp_path: Path) -> None:
    server = PostgresServer(tmp_path)
    await server.start()
    pid, url = server.pid, server.admin_url
    assert pid is not None

    await server.stop()
    await server.stop()

    assert server.pid is None
    assert _process_group_is_gone(pid)
    assert await _refuses_connections(url)


async def _refuses_connections(url: str) -> bool:
    try:
        connection = await asyncpg.connect(url, timeout=5)
    except ConnectionRefusedError:
        return True
    await connection.close()
    return False
