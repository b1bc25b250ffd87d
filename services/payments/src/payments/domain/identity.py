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


def digest(value: object) -> str:
    text = json.dumps(canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def canonical(value: object) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: canonical(getattr(value, field.name))
            for field in fields(value)
            if field.name not in POSITIONAL
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
