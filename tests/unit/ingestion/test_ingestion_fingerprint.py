"""Fingerprints are stored: the bytes they hash must never change from one release to the next."""

import hashlib
import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ingestion.domain.fingerprint import fingerprint

DOCUMENTS = st.dictionaries(
    st.text(max_size=12),
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers(min_value=-(2**63), max_value=2**63 - 1)
        | st.text(max_size=20),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=10), children, max_size=4)
        ),
        max_leaves=12,
    ),
    max_size=6,
)


def _canonical_sha256(document: dict[str, Any]) -> str:
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@given(DOCUMENTS)
def test_a_fingerprint_hashes_the_canonical_json_of_the_document(document: dict[str, Any]) -> None:
    assert fingerprint(document) == _canonical_sha256(document)


def test_key_order_does_not_change_a_fingerprint() -> None:
    assert fingerprint({"b": 1, "a": {"d": "é", "c": None}}) == fingerprint(
        {"a": {"c": None, "d": "é"}, "b": 1}
    )
