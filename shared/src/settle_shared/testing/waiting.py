"""Waiting for an effect that happens in another task or process."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]] | Callable[[], T],
    *,
    seconds: float = 10.0,
    interval: float = 0.05,
    what: str = "condition",
) -> T:
    """Poll `probe` until it returns something truthy, and return that; fail after `seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        result = probe()
        value = await result if isinstance(result, Awaitable) else result
        if value:
            return value
        if loop.time() > deadline:
            raise TimeoutError(f"{what} not met within {seconds}s")
        await asyncio.sleep(interval)
