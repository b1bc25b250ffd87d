"""A throwaway PostgreSQL server from the system's binaries, or an external server.

Every start runs initdb into a new private directory (removed on stop), so each server is empty.
PostgreSQL refuses to run as root: when we are root, initdb and the server run as the `postgres`
system user, in a directory of /tmp that user owns.
"""

import asyncio
import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, urlsplit

import asyncpg

from settle_local.ports import LOOPBACK, free_port
from settle_local.processes import (
    InfrastructureError,
    Server,
    ServerProcess,
    StartStopContext,
    log_tail,
)

SUPERUSER = "settle"
SYSTEM_USER = "postgres"
_DEBIAN_INSTALLATIONS = Path("/usr/lib/postgresql")
# Durability is worthless for throwaway data; without these, commits took twice as long here.
_FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


class Postgres(Server, Protocol):
    """What tests and the local stack need from a PostgreSQL server, local or external."""

    @property
    def admin_url(self) -> str: ...

    def url(self, database: str) -> str: ...

    async def create_database(self, name: str) -> None: ...

    async def drop_database(self, name: str) -> None: ...


def postgres_from_env(run_dir: Path) -> Postgres:
    """The server named by $SETTLE_POSTGRES_URL, else a local server logging to run_dir."""
    url = os.environ.get("SETTLE_POSTGRES_URL")
    if url:
        return ExternalPostgres(url)
    return PostgresServer(run_dir)


class ExternalPostgres(StartStopContext):
    """A server someone else runs, reached through a URL with rights to create databases.

    Starting and stopping it are no-ops.
    """

    def __init__(self, admin_url: str) -> None:
        self._admin_url = admin_url

    @property
    def admin_url(self) -> str:
        return self._admin_url

    def url(self, database: str) -> str:
        return urlsplit(self._admin_url)._replace(path=f"/{quote(database, safe='')}").geturl()

    async def create_database(self, name: str) -> None:
        await create_database(self._admin_url, name)

    async def drop_database(self, name: str) -> None:
        await drop_database(self._admin_url, name)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass


class PostgresServer(StartStopContext):
    """A server on a free port of 127.0.0.1 with a trusted superuser `settle` and no password."""

    def __init__(
        self,
        run_dir: Path,
        *,
        fast: bool = True,
        startup_timeout: float = 30.0,
        stop_timeout: float = 20.0,
    ) -> None:
        self._run_dir = run_dir
        self._fast = fast
        self._startup_timeout = startup_timeout
        self._stop_timeout = stop_timeout
        self._process: ServerProcess | None = None
        self._home: Path | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise InfrastructureError("the PostgreSQL server has not been started")
        return self._port

    @property
    def admin_url(self) -> str:
        return self.url("postgres")

    def url(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@{LOOPBACK}:{self.port}/{quote(database, safe='')}"

    @property
    def pid(self) -> int | None:
        """The postmaster's process id while the server runs."""
        return self._process.pid if self._process is not None else None

    @property
    def run_dir(self) -> Path:
        return self._run_dir

    @property
    def log_path(self) -> Path:
        return self._run_dir / "postgres.log"

    async def create_database(self, name: str) -> None:
        await create_database(self.admin_url, name)

    async def drop_database(self, name: str) -> None:
        await drop_database(self.admin_url, name)

    async def start(self) -> None:
        if self._process is not None:
            return
        bindir = find_postgres_bindir()
        account = _server_account()
        self._run_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.unlink(missing_ok=True)
        self._home = _private_directory(account)
        try:
            await self._initdb(bindir, self._home / "data", account)
            await self._launch(bindir, self._home, account)
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        if self._process is not None:
            # SIGINT is PostgreSQL's "fast" shutdown: roll back open transactions and disconnect.
            await self._process.stop(signal.SIGINT, self._stop_timeout)
            self._process = None
        if self._home is not None:
            shutil.rmtree(self._home, ignore_errors=True)
            self._home = None

    async def _initdb(
        self, bindir: Path, data_dir: Path, account: pwd.struct_passwd | None
    ) -> None:
        command = [
            str(bindir / "initdb"),
            f"--pgdata={data_dir}",
            f"--username={SUPERUSER}",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C",
            *(["--no-sync"] if self._fast else []),
        ]
        result = await asyncio.to_thread(
            subprocess.run,
            command,
            capture_output=True,
            text=True,
            check=False,
            cwd=data_dir.parent,
            user=account.pw_uid if account else None,
            group=account.pw_gid if account else None,
            extra_groups=[] if account else None,
        )
        self.log_path.write_text(result.stdout + result.stderr)
        if result.returncode != 0:
            raise InfrastructureError(
                f"initdb failed with exit code {result.returncode}\n{log_tail(self.log_path)}"
            )

    async def _launch(self, bindir: Path, home: Path, account: pwd.struct_passwd | None) -> None:
        self._port = free_port()
        self._process = ServerProcess(
            [bindir / "postgres", "-D", home / "data", *self._server_options(self._port, home)],
            output=self.log_path,
            cwd=home,
            user=account.pw_uid if account else None,
            group=account.pw_gid if account else None,
        )
        await self._wait_until_ready(self._process)

    def _server_options(self, port: int, socket_dir: Path) -> list[str]:
        settings = [
            "listen_addresses=" + LOOPBACK,
            "max_connections=200",
            *(_FAST_SETTINGS if self._fast else ()),
        ]
        options = ["-p", str(port), "-k", str(socket_dir)]
        for setting in settings:
            options += ["-c", setting]
        return options

    async def _wait_until_ready(self, process: ServerProcess) -> None:
        deadline = time.monotonic() + self._startup_timeout
        while not await _accepts_connections(self.admin_url):
            if process.exit_code is not None:
                raise InfrastructureError(
                    f"PostgreSQL exited with code {process.exit_code} while starting\n"
                    f"{log_tail(self.log_path)}"
                )
            if time.monotonic() > deadline:
                raise InfrastructureError(
                    f"PostgreSQL did not accept connections on port {self.port} "
                    f"within {self._startup_timeout:g} s\n{log_tail(self.log_path)}"
                )
            await asyncio.sleep(0.1)


def find_postgres_bindir() -> Path:
    """The directory with initdb and postgres: pg_config's, else Debian's newest installation."""
    for candidate in (_pg_config_bindir(), *_debian_bindirs_newest_first()):
        if candidate is not None and _holds_server_binaries(candidate):
            return candidate
    raise InfrastructureError(
        "PostgreSQL's server binaries (initdb, postgres) were not found: install them "
        "(apt-get install postgresql) or point SETTLE_POSTGRES_URL at a running server"
    )


def _pg_config_bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config is None:
        return None
    result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
    return Path(result.stdout.strip()) if result.returncode == 0 else None


def _debian_bindirs_newest_first() -> list[Path]:
    versions = [path for path in _DEBIAN_INSTALLATIONS.glob("*") if re.fullmatch(r"\d+", path.name)]
    return [
        path / "bin" for path in sorted(versions, key=lambda path: int(path.name), reverse=True)
    ]


def _holds_server_binaries(bindir: Path) -> bool:
    return all(os.access(bindir / name, os.X_OK) for name in ("initdb", "postgres"))


def _server_account() -> pwd.struct_passwd | None:
    """The account to run PostgreSQL as when we are root; None means as ourselves."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        raise InfrastructureError(
            f"PostgreSQL cannot run as root and there is no `{SYSTEM_USER}` user to run it as: "
            f"create one (useradd --system {SYSTEM_USER}) or run as another user"
        ) from None


def _private_directory(account: pwd.struct_passwd | None) -> Path:
    """A new directory in /tmp for the data and the socket, owned by the account that runs them.

    /tmp rather than the run directory: the server's user must be able to reach it, and pytest's
    temporary directories are private to root.
    """
    directory = Path(tempfile.mkdtemp(prefix="settle-postgres-"))
    if account is not None:
        os.chown(directory, account.pw_uid, account.pw_gid)
    return directory


async def _accepts_connections(url: str) -> bool:
    try:
        connection = await asyncpg.connect(url, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
        return False
    await connection.close()
    return True


async def create_database(admin_url: str, name: str) -> None:
    """Create the database unless it exists."""
    connection = await asyncpg.connect(admin_url)
    try:
        exists = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            # Another client may create it between the check and here.
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await connection.execute(f"CREATE DATABASE {_quote_identifier(name)}")
    finally:
        await connection.close()


async def drop_database(admin_url: str, name: str) -> None:
    """Drop the database if it exists, disconnecting whoever is still connected to it."""
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {_quote_identifier(name)} WITH (FORCE)")
    finally:
        await connection.close()


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
