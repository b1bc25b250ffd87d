"""Content digests: what makes two statements or two entries "the same" whatever their place in
a file, their line numbers or the message that carried them.

Content is canonical JSON: a dataclass is an object of its fields but the positional ones, Money
is `[amount_minor, currency]`, a date its ISO form, a Decimal its normalized digits, keys
sorted, UTF-8 unescaped. It is written compiled (`payments_core`, src/canonical.rs: every entry
of every statement is fingerprinted) and byte for byte as Python's `json.dumps` wrote it when
the first statements were fingerprinted, so stored fingerprints and entry keys stay valid.
"""

from __future__ import annotations

import hashlib

from payments_core._native import CanonicalWriter

# Where something sits in a file, and which message carried it, is not part of its content.
POSITIONAL = frozenset({"at", "number", "statement_number", "message_id", "version"})
# Content read since statements were first fingerprinted: left out when absent, so that what
# was fingerprinted before keeps its fingerprint.
READ_LATER = frozenset({"return_reason"})

_WRITER = CanonicalWriter(POSITIONAL, READ_LATER)


def digest(value: object) -> str:
    """SHA-256 of the compact canonical JSON (no spaces after `,` and `:`)."""
    return hashlib.sha256(_WRITER.json(value, compact=True)).hexdigest()


def content_line(value: object) -> bytes:
    """The canonical JSON with `json.dumps`'s default spaces, and a line end: statement
    fingerprints hash a statement's line and then each of its entries'."""
    return _WRITER.json(value, compact=False) + b"\n"
