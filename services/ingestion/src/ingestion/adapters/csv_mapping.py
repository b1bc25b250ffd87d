"""The column mapping of a CSV or spreadsheet (.xlsx) export: a small TOML file the integrator
writes once per ERP export, saying which column holds which field and how numbers, dates and text
are written. Documented, with examples, in services/ingestion/README.md. In a workbook the mapping
reads one sheet, whose first row is the header; the formats apply to cells that hold text (a cell
typed as a number or a date is read as such), encoding and delimiter do not apply.

    records = "invoices"            # or "customers"
    encoding = "cp1252"             # any Python codec; "utf-8" also skips a byte-order mark
    delimiter = ";"
    locale = "nl_NL"                # how amounts are written: 1.234,56
    date_format = "%d-%m-%Y"
    timestamp_format = "%d-%m-%Y %H:%M"   # updated_at; ISO 8601 when not given
    time_zone = "Europe/Amsterdam"  # for timestamps written without an offset
    currency = "EUR"                # when no column holds the currency
    sheet = "Facturen"              # a workbook's sheet; the first sheet when not given

    [columns]                       # field = "column header"
    invoice_id = "Factuur"
    ...

    [values.preferred_channel]      # optional: the export's words for the contract's values
    "E-mail" = "email"
"""

from __future__ import annotations

import codecs
import re
import tomllib
from pathlib import Path
from typing import Literal, Self

from babel import Locale, UnknownLocaleError
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ingestion.adapters.files import UnreadableFile
from settle_shared.errors import Problem
from settle_shared.events.common import TimeZoneName

INVOICE_FIELDS = frozenset(
    {
        "customer_id",
        "invoice_id",
        "invoice_number",
        "issue_date",
        "due_date",
        "amount",
        "currency",
        "payment_reference",
        "payment_terms",
        "updated_at",
    }
)
INVOICE_REQUIRED = frozenset({"customer_id", "invoice_id", "issue_date", "due_date", "amount"})
CUSTOMER_FIELDS = frozenset(
    {
        "customer_id",
        "name",
        "country",
        "language",
        "time_zone",
        "registration_number",
        "vat_number",
        "preferred_channel",
        "consented_channels",
        "strategic_account",
        "updated_at",
    }
)
CUSTOMER_REQUIRED = frozenset({"customer_id", "name", "country", "language", "time_zone"})
CUSTOMER_PATTERNS = (
    re.compile(r"^contacts\.(accounts_payable|buyer|legal|other)\.(name|email|phone|language)$"),
    re.compile(r"^postal_address\.(line[1-4]|postal_code|city|country)$"),
    re.compile(r"^codes\.[a-z][a-z0-9_]{0,31}$"),
)


class CsvMapping(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    records: Literal["invoices", "customers"]
    encoding: str = "utf-8"
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    quotechar: str = Field(default='"', min_length=1, max_length=1)
    locale: str = "en"
    date_format: str = "%Y-%m-%d"
    timestamp_format: str | None = None
    time_zone: TimeZoneName | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    list_separator: str = Field(default="|", min_length=1)
    sheet: str | None = Field(default=None, min_length=1)
    columns: dict[str, str]
    values: dict[str, dict[str, str]] = Field(default_factory=dict)

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, name: str) -> str:
        try:
            codec = codecs.lookup(name).name
        except LookupError as error:
            raise ValueError(f"{name!r} is not a known text encoding") from error
        # A UTF-8 export from a spreadsheet often starts with a byte-order mark.
        return "utf-8-sig" if codec == "utf-8" else codec

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, name: str) -> str:
        try:
            Locale.parse(name)
        except (UnknownLocaleError, ValueError) as error:
            raise ValueError(f"{name!r} is not a known locale") from error
        return name

    @model_validator(mode="after")
    def _fields_known_and_complete(self) -> Self:
        fields = set(self.columns)
        if self.records == "invoices":
            unknown = fields - INVOICE_FIELDS
            missing = set(INVOICE_REQUIRED - fields)
            if "currency" not in fields and self.currency is None:
                missing.add("currency")
        else:
            unknown = {f for f in fields - CUSTOMER_FIELDS if not _customer_pattern(f)}
            missing = set(CUSTOMER_REQUIRED - fields)
        if unknown:
            raise ValueError(f"unknown fields in [columns]: {', '.join(sorted(unknown))}")
        if missing:
            raise ValueError(
                f"[columns] must map {', '.join(sorted(missing))} (or give a default currency)"
            )
        return self


def _customer_pattern(name: str) -> bool:
    return any(pattern.fullmatch(name) for pattern in CUSTOMER_PATTERNS)


def load_mapping(path: Path) -> CsvMapping:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise UnreadableFile(
            f"the mapping {path.name} cannot be read", [Problem(path.name, str(error))]
        ) from error
    try:
        return CsvMapping.model_validate(document)
    except ValidationError as error:
        raise UnreadableFile(
            f"the mapping {path.name} is not valid",
            [
                Problem(f"{path.name}: " + ".".join(str(p) for p in e["loc"]), e["msg"])
                for e in error.errors()
            ],
        ) from error
