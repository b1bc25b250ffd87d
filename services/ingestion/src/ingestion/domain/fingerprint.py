"""A content fingerprint: equal documents give equal fingerprints, whatever their key order."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import orjson


def fingerprint(document: Mapping[str, Any]) -> str:
    """SHA-256 of the document's canonical JSON: keys sorted, no spaces, UTF-8 unescaped. Stored
    fingerprints depend on these exact bytes (the standard library's `json.dumps(sort_keys=True,
    separators=(",", ":"), ensure_ascii=False)` writes the same)."""
    return hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()
