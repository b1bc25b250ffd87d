"""What people see while the stack starts and runs: a live table of components."""

from __future__ import annotations

from rich.console import Console
from rich.live import Live
from rich.table import Table

from settle_local.stack import Component

_STATE_STYLE = {
    "waiting": "dim",
    "starting": "yellow",
    "ready": "green",
    "failed": "bold red",
    "stopped": "dim",
}


def component_table(components: dict[str, Component], title: str = "Settle, local stack") -> Table:
    table = Table(title=title, title_justify="left", expand=False)
    for column in ("component", "kind", "state", "address", "started in", "pid"):
        table.add_column(column)
    for component in components.values():
        style = _STATE_STYLE.get(component.state, "")
        table.add_row(
            component.name,
            component.kind,
            f"[{style}]{component.state}[/{style}]" if style else component.state,
            component.address,
            f"{component.started_in:.1f}s" if component.started_in is not None else "",
            str(component.pid or ""),
        )
    return table


class LiveStatus:
    """Redraws the component table on every change (plain lines when not on a terminal)."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._components: dict[str, Component] = {}
        self._live = Live(console=console, auto_refresh=False) if console.is_terminal else None

    def __enter__(self) -> LiveStatus:
        if self._live is not None:
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)

    def __call__(self, component: Component) -> None:
        self._components[component.name] = component
        if self._live is not None:
            self._live.update(component_table(self._components), refresh=True)
        elif component.state == "failed" or (component.state == "ready" and component.address):
            took = f" in {component.started_in:.1f}s" if component.started_in is not None else ""
            self._console.print(f"{component.name}: {component.state}{took} {component.address}")
