"""ERP records given as `{"type": <event type>, "data": <payload>}`: the items of a batch request
and the lines of a JSON-lines file. The type is the event type of the topic contract, so a record
reads the same on a topic, over HTTP and in a file. The tenant is the caller's, never the data's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from settle_shared.errors import Problem
from settle_shared.events.erp import (
    ErpCreditNoteIssued,
    ErpCustomerUpserted,
    ErpInvoiceAmended,
    ErpInvoiceCancelled,
    ErpInvoiceIssued,
)

ErpRecord = (
    ErpCustomerUpserted
    | ErpInvoiceIssued
    | ErpInvoiceAmended
    | ErpInvoiceCancelled
    | ErpCreditNoteIssued
)
RECORD_TYPES: dict[str, type[ErpRecord]] = {
    model.event_type.ce_type: model
    for model in (
        ErpCustomerUpserted,
        ErpInvoiceIssued,
        ErpInvoiceAmended,
        ErpInvoiceCancelled,
        ErpCreditNoteIssued,
    )
}


def record_id(record: ErpRecord) -> str:
    """The id of the record the ERP talks about (customer, invoice or credit note)."""
    return record.subject()


def parse_record(item: Any, tenant: str, pointer: str = "") -> ErpRecord | list[Problem]:
    """The record, or every problem with it, located by JSON pointer under `pointer`."""
    if not isinstance(item, Mapping):
        return [Problem(pointer or "/", "a record is an object with 'type' and 'data'")]
    problems = []
    kind = item.get("type")
    model = RECORD_TYPES.get(kind) if isinstance(kind, str) else None
    if model is None:
        known = ", ".join(RECORD_TYPES)
        problems.append(Problem(f"{pointer}/type", f"the type must be one of {known}"))
    data = item.get("data")
    if not isinstance(data, Mapping):
        problems.append(Problem(f"{pointer}/data", "the data must be an object"))
    elif data.get("tenant") not in (None, tenant):
        problems.append(
            Problem(f"{pointer}/data/tenant", f"{data['tenant']} is not the tenant you act for")
        )
    if problems or model is None or not isinstance(data, Mapping):
        return problems
    try:
        return model.model_validate({**data, "tenant": tenant})
    except ValidationError as error:
        return [
            Problem(f"{pointer}/data" + "".join(f"/{part}" for part in e["loc"]), e["msg"])
            for e in error.errors()
        ]
