"""Content digests: what makes two statements or two entries "the same" whatever their place in
a file, their line numbers or the message that carried them."""

from __future__ import annotations

import hashlib
import json
from dataclasses import fields, is_dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from settle_shared.money import Money

# Where something sits in a file, and which message carried it, is not part of its content.
POSITIONAL = frozenset({"at", "number", "statement_number", "message_id", "version"})
# Content read since statements were first fingerprinted: left out when absent, so that what
# was fingerprinted before keeps its fingerprint.
READ_LATER = frozenset({"return_reason"})


def digest(value: object) -> str:
    text = json.dumps(canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def canonical(value: object) -> Any:
    if value is None or isinstance(value, str | int):
        return value
    names = _content_fields(type(value))
    if names is not None:
        return {
            name: canonical(field)
            for name in names
            if (field := getattr(value, name)) is not None or name not in READ_LATER
        }
    if isinstance(value, Money):
        return [value.amount_minor, value.currency]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value.normalize())
    if isinstance(value, tuple | list):
        return [canonical(item) for item in value]
    return value


_CONTENT_FIELDS: dict[type, tuple[str, ...] | None] = {}


def _content_fields(kind: type) -> tuple[str, ...] | None:
    """A dataclass's fields that are content, looked up once per class (statements are
    fingerprinted entry by entry); None for any other class."""
    if kind not in _CONTENT_FIELDS:
        _CONTENT_FIELDS[kind] = (
            tuple(f.name for f in fields(kind) if f.name not in POSITIONAL)
            if is_dataclass(kind)
            else None
        )
    return _CONTENT_FIELDS[kind]
