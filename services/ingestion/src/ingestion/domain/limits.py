"""What ingestion accepts at most, so that an oversized or hostile input is refused before it
costs memory: request bodies, JSON nesting, items per batch, files and XML documents."""

from __future__ import annotations

import re

MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_BATCH_ITEMS = 5_000
MAX_JSON_DEPTH = 32
MAX_XML_DOCUMENT_BYTES = 20 * 1024 * 1024
MAX_CSV_FIELD_CHARACTERS = 10_000
MAX_FILE_BYTES = 2 * 1024 * 1024 * 1024
MAX_XLSX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024
MAX_XLSX_DIRECTORY_BYTES = 4 * 1024 * 1024
"""The zip archive's table of contents, parsed whole (a few hundred bytes an entry in memory)."""
MAX_XLSX_LOADED_PART_BYTES = 64 * 1024 * 1024
"""A workbook's parts other than its worksheets (shared strings, styles) are read whole."""
MAX_XLSX_ROWS = 1_048_576
MAX_XLSX_COLUMNS = 1_000

_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_STRING = re.compile(rb'"[^"]*"')
_NOT_STRUCTURE = bytes(b for b in range(256) if b not in b'[]{}"')


def json_depth(document: bytes) -> int:
    """How deeply a JSON text nests arrays and objects, read without parsing it (strings, which
    may contain brackets, are skipped), so that a hostile body never reaches the parser.
    Escapes go first, so no quote left is escaped; then only quotes and brackets are kept, and
    the strings among them dropped: each step runs in C over a shorter text."""
    structure = _ESCAPE.sub(b"", document).translate(None, _NOT_STRUCTURE)
    brackets = _STRING.sub(b"", structure)
    depth = deepest = 0
    for bracket in brackets:
        if bracket in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest
