from datetime import UTC, datetime
from typing import Any

from ingestion.domain.customers import customer_problems
from ingestion.entrypoints.api import (
    CancellationUpload,
    CreditNoteUpload,
    CustomerUpload,
    InvoiceUpload,
)
from settle_shared.events.erp import (
    CUSTOMER_EXAMPLE,
    ErpCreditNoteIssued,
    ErpCustomerUpserted,
    ErpInvoiceAmended,
    ErpInvoiceCancelled,
)

AMENDED_EXAMPLE = ErpInvoiceAmended.event_type.examples()[0]


def test_every_upload_carries_every_field_of_its_erp_event() -> None:
    assert set(CustomerUpload.model_fields) == set(ErpCustomerUpserted.model_fields)
    assert set(InvoiceUpload.model_fields) == set(ErpInvoiceAmended.model_fields)
    assert set(CreditNoteUpload.model_fields) == set(ErpCreditNoteIssued.model_fields)
    assert set(CancellationUpload.model_fields) | {"invoice_id"} == set(
        ErpInvoiceCancelled.model_fields
    )


def test_an_invoice_upload_becomes_the_whole_invoice_of_the_callers_tenant() -> None:
    body = {**AMENDED_EXAMPLE, "tenant": None}
    event = InvoiceUpload.model_validate(body).as_event("other-be")
    assert event == ErpInvoiceAmended.model_validate({**AMENDED_EXAMPLE, "tenant": "other-be"})


def test_a_customer_upload_without_a_tenant_becomes_the_erp_event() -> None:
    body = {k: v for k, v in CUSTOMER_EXAMPLE.items() if k != "tenant"}
    event = CustomerUpload.model_validate(body).as_event("acme-nl")
    assert event == ErpCustomerUpserted.model_validate(CUSTOMER_EXAMPLE)
    assert event.updated_at == datetime(2026, 11, 2, 9, 15, tzinfo=UTC)


def test_a_cancellation_upload_takes_the_invoice_id_from_the_path() -> None:
    example = ErpInvoiceCancelled.event_type.examples()[0]
    body = {k: v for k, v in example.items() if k not in ("tenant", "invoice_id")}
    event = CancellationUpload.model_validate(body).as_event("acme-nl", example["invoice_id"])
    assert event == ErpInvoiceCancelled.model_validate(example)


def test_every_customer_example_in_the_api_contract_is_a_valid_customer() -> None:
    schema = CustomerUpload.model_json_schema()
    examples: list[dict[str, Any]] = schema["examples"]
    for example in examples:
        event = CustomerUpload.model_validate(example).as_event("acme-nl")
        assert customer_problems(event, datetime(2026, 11, 10, tzinfo=UTC)) == []
    roles = {c["role"] for e in examples for c in e["master"]["contacts"]}
    assert roles >= {"accounts_payable", "buyer", "legal"}
