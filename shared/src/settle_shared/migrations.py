"""Forward-only SQL migrations, applied in order under an advisory lock.

Each service has a folder of `NNNN_description.sql` files; the shared outbox and inbox tables come
first. Applied files are recorded with a checksum so an edited migration is caught, not re-run.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from settle_shared.pg import Connection

log = logging.getLogger(__name__)

_LOCK_KEY = 0x5E771E  # one migrator per database at a time
SHARED_SOURCE = "settle_shared"


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    source: str
    version: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load(source: str, folder: Traversable) -> list[Migration]:
    scripts = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".sql")),
        key=lambda entry: entry.name,
    )
    return [
        Migration(source, entry.name.removesuffix(".sql"), entry.read_text()) for entry in scripts
    ]


def service_migrations(package: str) -> list[Migration]:
    """The shared tables, then the service's own `<package>/migrations/*.sql`."""
    shared = load(SHARED_SOURCE, files("settle_shared") / "migrations_sql")
    return shared + load(package, files(package) / "migrations")


async def migrate(database_url: str, migrations: list[Migration]) -> list[Migration]:
    """Create the database if needed, apply what is missing, and return what was applied."""
    await ensure_database(database_url)
    connection = await asyncpg.connect(database_url)
    try:
        await connection.execute("SELECT pg_advisory_lock($1)", _LOCK_KEY)
        try:
            return await _apply_missing(connection, migrations)
        finally:
            await connection.execute("SELECT pg_advisory_unlock($1)", _LOCK_KEY)
    finally:
        await connection.close()


async def _apply_missing(connection: Connection, migrations: list[Migration]) -> list[Migration]:
    await connection.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               source text NOT NULL, version text NOT NULL, checksum text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (source, version))"""
    )
    rows = await connection.fetch("SELECT source, version, checksum FROM schema_migrations")
    applied = {(row["source"], row["version"]): row["checksum"] for row in rows}
    done: list[Migration] = []
    for migration in migrations:
        recorded = applied.get((migration.source, migration.version))
        if recorded is None:
            await _apply(connection, migration)
            done.append(migration)
        elif recorded != migration.checksum:
            raise MigrationError(
                f"migration {migration.source}/{migration.version} was changed after it was "
                "applied; write a new migration instead"
            )
    return done


async def _apply(connection: Connection, migration: Migration) -> None:
    log.info("applying migration", extra={"migration": f"{migration.source}/{migration.version}"})
    async with connection.transaction():
        await connection.execute(migration.sql)
        await connection.execute(
            "INSERT INTO schema_migrations (source, version, checksum) VALUES ($1, $2, $3)",
            migration.source,
            migration.version,
            migration.checksum,
        )


async def ensure_database(database_url: str) -> None:
    """Create the service's database on its server if it does not exist yet."""
    try:
        connection = await asyncpg.connect(database_url)
    except asyncpg.InvalidCatalogNameError:
        await _create_database(database_url)
    else:
        await connection.close()


async def _create_database(database_url: str) -> None:
    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    connection = await asyncpg.connect(maintenance)
    try:
        quoted = await connection.fetchval("SELECT quote_ident($1)", name)
        await connection.execute(f"CREATE DATABASE {quoted}")
        log.info("created database", extra={"database": name})
    except asyncpg.DuplicateDatabaseError:
        return
    except asyncpg.InsufficientPrivilegeError as error:
        raise MigrationError(
            f"database {name!r} does not exist and this user may not create it: "
            "create it first or grant CREATEDB"
        ) from error
    finally:
        await connection.close()
