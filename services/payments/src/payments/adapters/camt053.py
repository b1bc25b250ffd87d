"""ISO 20022 camt.053 bank statements (001.02, .03, .04 and .08) and camt.054 debit/credit
notifications (001.02, .04 and .08), read as a stream. A notification reads as a statement
without balances: its entries are checked and booked the same way.

The reading is compiled (`payments_core`, services/payments/core/src/camt): a 100,000-entry
statement is read twice per upload, once to check it whole and once to import it. What it does:
- Elements are matched by local name, so every version's namespace (and any prefix) reads the
  same. The root's namespace names the version; another message, another version or a
  DOCTYPE is an `UnsupportedDocument`.
- Each entry is handed out as soon as it has been read, and then dropped: memory stays flat
  however long the file. A statement is handed out before its entries, once its header
  (account, balances, summary) is complete.
- The file must be well-formed XML; anything else is a `MalformedStatement` naming the line
  and column. A part that cannot be read (an entry without status, an amount without currency,
  a date that is no date) is one naming the part's path and line.
- Comments and processing instructions are dropped; CDATA and character references are text.
  A file in another encoding than UTF-8 is read in the encoding it declares.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO

from payments.domain.statement import StatementItem
from payments_core._native import CamtReader

Source = str | Path | IO[bytes]


def read_camt053(source: Source) -> Iterator[StatementItem]:
    """Every statement of the file, each followed by its entries, in file order."""
    if isinstance(source, str | Path):
        with Path(source).open("rb") as file:
            yield from CamtReader(file)
    else:
        yield from CamtReader(source)
