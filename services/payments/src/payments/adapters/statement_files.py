"""Which reader a bank file needs: ISO 20022 XML (camt.053, camt.054) or SWIFT MT940."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO

from payments.adapters.camt053 import read_camt053
from payments.adapters.mt940 import read_mt940
from payments.domain.statement import StatementItem, UnsupportedDocument
from settle_shared.errors import Problem

_SNIFF_BYTES = 4096
_BLANK = b"\xef\xbb\xbf \t\r\n\x01"


def read_statement_file(file: IO[bytes]) -> Iterator[StatementItem]:
    """The file's statements and entries, whichever format it is in; the file is read from
    its start."""
    file.seek(0)
    head = file.read(_SNIFF_BYTES).lstrip(_BLANK)
    file.seek(0)
    if head.startswith(b"<"):
        return read_camt053(file)
    if b":20:" in head or head.startswith((b"{1:", b":940:")):
        return read_mt940(file)
    raise UnsupportedDocument(
        "the file is neither ISO 20022 XML (camt.053, camt.054) nor a SWIFT MT940 statement",
        [Problem("line 1", "no XML element and no :20: tag at the start")],
    )
