"""The README's start command, as a user runs it: `python -m settle_local up` (here with --once,
a smaller portfolio and fewer days, so it ends by itself)."""

import asyncio
import sys
from pathlib import Path

from settle_local.paths import repo_root


async def test_the_start_command_brings_the_stack_up_runs_the_demo_and_stops(
    tmp_path: Path,
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "settle_local",
        "up",
        "--once",
        "--customers=8",
        "--days=24",
        f"--run-dir={tmp_path}",
        cwd=repo_root(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=400)
    text = output.decode()
    assert process.returncode == 0, text
    assert "stack ready in" in text
    assert "Reminders after payment │ 0" in text
    assert "reminder 1 by email (nl)" in text
    assert "case closed (paid)" in text
    report = (tmp_path / "report.html").read_text()
    assert "<svg" in report
    assert "One debtor&#x27;s journey" in report or "One debtor's journey" in report
