"""Running a local server as a child process: spawning, stopping, and reporting its log."""

import abc
import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

import httpx


class InfrastructureError(RuntimeError):
    """A local server could not be installed, started or reached."""


class Server(Protocol):
    """A server that tests and the local stack start and stop, local or external."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class StartStopContext(abc.ABC):
    """`async with server:` starts it and always stops it."""

    @abc.abstractmethod
    async def start(self) -> None: ...

    @abc.abstractmethod
    async def stop(self) -> None: ...

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()


class ServerProcess:
    """A child process in its own process group, with stdout and stderr appended to a file.

    Its own group keeps a terminal's Ctrl-C away from it (the owner decides how it stops) and lets
    the last-resort SIGKILL reach every process it forked, such as PostgreSQL's backends.
    """

    def __init__(
        self,
        args: Sequence[str | Path],
        *,
        output: Path,
        cwd: Path | None = None,
        user: int | None = None,
        group: int | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> None:
        with output.open("ab") as sink:
            self._popen = subprocess.Popen(
                [str(arg) for arg in args],
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env=environment,
                user=user,
                group=group,
                extra_groups=[] if user is not None else None,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def exit_code(self) -> int | None:
        """None while it runs."""
        return self._popen.poll()

    async def stop(self, first_signal: signal.Signals, grace_seconds: float) -> None:
        """Send first_signal, and SIGKILL the whole group if it has not exited after grace_seconds."""
        if self.exit_code is None:
            self._popen.send_signal(first_signal)
            if not await self._exits_within(grace_seconds):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                await asyncio.to_thread(self._popen.wait)

    async def _exits_within(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while self.exit_code is None:
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.05)
        return True


def log_tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file, headed by its path, for error messages."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"--- {path}: (not written)"
    tail = text.splitlines()[-lines:]
    return "\n".join([f"--- last {len(tail)} lines of {path}:", *tail])


async def wait_until_healthy(
    probe_url: str,
    watched: Sequence[tuple[str, ServerProcess, Path]],
    timeout_seconds: float,
) -> None:
    """Poll `probe_url` until it answers 200, failing at once (with its log) if any watched
    process exits first."""
    deadline = time.monotonic() + timeout_seconds
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            for name, process, log in watched:
                if process.exit_code is not None:
                    raise InfrastructureError(
                        f"{name} exited with {process.exit_code}\n{log_tail(log)}"
                    )
            try:
                if (await client.get(probe_url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    tails = "\n".join(log_tail(log) for _, _, log in watched)
    raise InfrastructureError(f"{probe_url} not ready after {timeout_seconds:.0f}s\n{tails}")
