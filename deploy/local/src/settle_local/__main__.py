"""`python -m settle_local up`: the whole system on this machine, fed by the simulators.

Starts PostgreSQL, Kafka, the simulators and the six services (a live table shows them coming up),
runs the demo (an ERP portfolio, a debtor journey, weeks of simulated time with bank statements),
prints what happened and writes a report page, then keeps everything running until Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from settle_local.console import LiveStatus, component_table
from settle_local.demo import DemoOptions, run_demo
from settle_local.paths import repo_root
from settle_local.stack import API_KEY, SERVICES, TENANT, Component, Stack


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m settle_local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start everything and run the demo")
    up.add_argument("--customers", type=int, default=40, help="customers in the ERP portfolio")
    up.add_argument("--days", type=int, default=45, help="days of simulated time")
    up.add_argument("--once", action="store_true", help="stop after the demo instead of serving")
    up.add_argument("--run-dir", type=Path, default=repo_root() / ".run" / "stack")
    status = commands.add_parser("status", help="show the stack started by `up`")
    status.add_argument("--run-dir", type=Path, default=repo_root() / ".run" / "stack")
    args = parser.parse_args(argv)
    console = Console()
    if args.command == "up":
        options = DemoOptions(customers=args.customers, days=args.days)
        raise SystemExit(asyncio.run(_up(console, args.run_dir, options, args.once)))
    _status(console, args.run_dir)


async def _up(console: Console, run_dir: Path, options: DemoOptions, once: bool) -> int:
    began = time.monotonic()
    with LiveStatus(console) as live:
        stack = Stack(run_dir, fixed_ports=True, progress=live)
        await stack.start()
    try:
        console.print(f"[green]stack ready in {time.monotonic() - began:.1f}s[/green]")
        await run_demo(stack, console, options)
        _print_memory(console, stack)
        if not once:
            _print_how_to_use(console, stack)
            await _wait_for_interrupt()
    finally:
        console.print("stopping…")
        await stack.stop()
    return 0


def _print_memory(console: Console, stack: Stack) -> None:
    usage = stack.memory_mb()
    console.print("memory (PSS): " + ", ".join(f"{name} {mb:.0f} MB" for name, mb in usage.items()))


def _print_how_to_use(console: Console, stack: Stack) -> None:
    assert stack.simulators is not None
    console.print(
        "\n[bold]Settle is running.[/bold] Every service has OpenAPI docs at <url>/docs; "
        f'call them with [cyan]-H "Authorization: Bearer {API_KEY}"[/cyan] (tenant {TENANT}).\n'
        + "\n".join(f"  {name:<13} {stack.url(name)}/docs" for name in SERVICES)
        + f"\n  e-mails sent  {stack.simulators.mail_api_url}/messages"
        + f"\n  logs          {stack.run_dir / 'logs'}"
        + "\nPress Ctrl-C to stop."
    )


async def _wait_for_interrupt() -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stopping.set)
    await stopping.wait()


def _status(console: Console, run_dir: Path) -> None:
    state_file = run_dir / "stack.json"
    if not state_file.exists():
        console.print(f"no stack state in {run_dir}: start one with `make up`")
        raise SystemExit(1)
    state = json.loads(state_file.read_text())
    components = {name: Component(**fields) for name, fields in state["components"].items()}
    console.print(component_table(components, title=f"Settle, as last started ({state_file})"))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
