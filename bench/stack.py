"""Measures the local stack and writes bench/results/stack.json.

stack: cold start of the whole stack (wall clock and per component) over several runs, and the
memory (PSS) of every process once it is ready and again after a short journey of simulated days.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from settle_local.demo import DemoOptions, run_demo
from settle_local.paths import repo_root
from settle_local.stack import Stack


async def measure_stack(runs: int, console: Console) -> dict[str, Any]:
    starts: list[dict[str, float]] = []
    memory_ready: dict[str, float] = {}
    memory_after: dict[str, float] = {}
    for run in range(runs):
        with tempfile.TemporaryDirectory(prefix="settle-bench-") as run_dir:
            began = time.monotonic()
            stack = Stack(Path(run_dir))
            await stack.start()
            try:
                timings = {name: c.started_in or 0.0 for name, c in stack.components.items()}
                starts.append({"total": time.monotonic() - began, **timings})
                console.print(f"run {run + 1}: stack ready in {starts[-1]['total']:.1f}s")
                if run == runs - 1:
                    memory_ready = stack.memory_mb()
                    await run_demo(stack, Console(quiet=True), DemoOptions(customers=20, days=20))
                    memory_after = stack.memory_mb()
            finally:
                await stack.stop()
    return {
        "startup_seconds": {
            name: {
                "median": statistics.median(r[name] for r in starts),
                "max": max(r[name] for r in starts),
            }
            for name in starts[0]
        },
        "memory_pss_mb_when_ready": _rounded(memory_ready),
        "memory_pss_mb_after_20_day_demo": _rounded(memory_after),
        "runs": runs,
    }


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {name: round(value, 1) for name, value in values.items()}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python bench/stack.py", description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--out", type=Path, default=repo_root() / "bench" / "results" / "stack.json"
    )
    args = parser.parse_args(argv)
    console = Console()
    results = asyncio.run(measure_stack(args.runs, console))
    document = {
        "benchmark": "stack",
        "measured_at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": _cpus(), "python": platform.python_version()},
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    console.print_json(data=results)
    console.print(f"written to {args.out}")


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
