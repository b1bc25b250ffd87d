"""A page people would rather look at than read: receivables and reminders over simulated time."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from html import escape
from pathlib import Path

from settle_local.ledger import Snapshot

WIDTH, HEIGHT, MARGIN = 720, 220, 40


def write_report(
    path: Path,
    snapshots: Sequence[Snapshot],
    facts: Sequence[tuple[str, str]],
    journey: Sequence[tuple[str, str]],
) -> Path:
    daily = list(itertools.pairwise(snapshots))
    reminders = [later.reminders - earlier.reminders for earlier, later in daily]
    payments = [later.payments - earlier.payments for earlier, later in daily]
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Settle demo report</title>
<style>
 body {{ font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 780px; color: #1d2430; }}
 h1 {{ font-size: 1.5rem; }} h2 {{ font-size: 1.1rem; margin-top: 2rem; }}
 table {{ border-collapse: collapse; }} td {{ padding: .2rem 1.2rem .2rem 0; }}
 td:first-child {{ color: #5b6575; white-space: nowrap; vertical-align: top; }} svg text {{ font-size: 11px; fill: #5b6575; }}
</style></head><body>
<h1>Settle, {len(snapshots) - 1} simulated days</h1>
<h2>Open receivables (EUR)</h2>
{_line_chart([s.open_minor / 100 for s in snapshots], "#2563eb")}
<h2>Reminders requested (orange) and payments received (green) per day</h2>
{_bar_chart(reminders, payments)}
<h2>What happened</h2>
{_table(facts)}
<h2>One debtor's journey</h2>
{_table(journey)}
</body></html>
"""
    path.write_text(page)
    return path


def _line_chart(values: Sequence[float], colour: str) -> str:
    top = max(values, default=0) or 1
    step = (WIDTH - 2 * MARGIN) / max(1, len(values) - 1)
    points = " ".join(
        f"{MARGIN + i * step:.1f},{HEIGHT - MARGIN - v / top * (HEIGHT - 2 * MARGIN):.1f}"
        for i, v in enumerate(values)
    )
    return (
        f'<svg width="{WIDTH}" height="{HEIGHT}" role="img">{_axes(len(values) - 1, f"{top:,.0f}")}'
        f'<polyline fill="none" stroke="{colour}" stroke-width="2.5" points="{points}"/></svg>'
    )


def _bar_chart(first: Sequence[int], second: Sequence[int]) -> str:
    top = max([*first, *second, 1])
    slot = (WIDTH - 2 * MARGIN) / max(1, len(first))
    bars = []
    for day, (a, b) in enumerate(zip(first, second, strict=True)):
        x = MARGIN + day * slot
        for offset, value, colour in ((0.1, a, "#ea580c"), (0.5, b, "#16a34a")):
            height = value / top * (HEIGHT - 2 * MARGIN)
            bars.append(
                f'<rect x="{x + offset * slot:.1f}" y="{HEIGHT - MARGIN - height:.1f}" '
                f'width="{0.38 * slot:.1f}" height="{height:.1f}" fill="{colour}"/>'
            )
    return f'<svg width="{WIDTH}" height="{HEIGHT}" role="img">{_axes(len(first), str(top))}{"".join(bars)}</svg>'


def _axes(days: int, top_label: str) -> str:
    bottom = HEIGHT - MARGIN
    return (
        f'<line x1="{MARGIN}" y1="{bottom}" x2="{WIDTH - MARGIN}" y2="{bottom}" stroke="#c7ccd4"/>'
        f'<line x1="{MARGIN}" y1="{MARGIN}" x2="{MARGIN}" y2="{bottom}" stroke="#c7ccd4"/>'
        f'<text x="{MARGIN}" y="{bottom + 16}">day 0</text>'
        f'<text x="{WIDTH - MARGIN - 30}" y="{bottom + 16}">day {days}</text>'
        f'<text x="2" y="{MARGIN + 4}">{escape(top_label)}</text>'
    )


def _table(rows: Sequence[tuple[str, str]]) -> str:
    cells = "".join(
        f"<tr><td>{escape(label)}</td><td>{escape(value)}</td></tr>" for label, value in rows
    )
    return f"<table>{cells}</table>"
