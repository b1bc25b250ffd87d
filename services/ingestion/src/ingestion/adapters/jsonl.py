"""JSON lines: one ERP record per line, `{"type": <event type>, "data": <payload>}`, exactly as
the items of a batch request. Each line is bounded in size and nesting before it is parsed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import IO

from ingestion.adapters.files import FileRecord
from ingestion.domain.limits import MAX_BODY_BYTES, MAX_JSON_DEPTH, json_depth
from ingestion.domain.records import parse_record
from settle_shared.errors import Problem


def read_jsonl(source: IO[bytes], tenant: str) -> Iterator[FileRecord]:
    for number, line in enumerate(_lines(source), start=1):
        location = f"line {number}"
        problem = _refused(line)
        if problem is not None or line is None:
            yield FileRecord(location, None, (Problem(location, problem or "refused"),))
            continue
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            yield FileRecord(location, None, (Problem(location, f"not JSON: {error}"),))
            continue
        parsed = parse_record(item, tenant)
        if isinstance(parsed, list):
            problems = tuple(Problem(f"{location}: {p.location}", p.message) for p in parsed)
            yield FileRecord(location, None, problems)
        else:
            yield FileRecord(location, parsed)


def _lines(source: IO[bytes]) -> Iterator[bytes | None]:
    """Each line, or None for a line over the limit, skipped without being held."""
    while True:
        line = source.readline(MAX_BODY_BYTES + 1)
        if not line:
            return
        if len(line) <= MAX_BODY_BYTES:
            yield line
            continue
        while line and not line.endswith(b"\n"):
            line = source.readline(MAX_BODY_BYTES)
        yield None


def _refused(line: bytes | None) -> str | None:
    if line is None:
        return f"the line is longer than {MAX_BODY_BYTES} bytes"
    depth = json_depth(line)
    if depth > MAX_JSON_DEPTH:
        return f"the line nests {depth} levels deep; the limit is {MAX_JSON_DEPTH}"
    return None
