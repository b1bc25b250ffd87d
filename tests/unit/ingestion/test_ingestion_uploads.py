from datetime import UTC, datetime

from ingestion.entrypoints.api import CustomerUpload, InvoiceUpload
from settle_shared.events.erp import CUSTOMER_EXAMPLE, ErpCustomerUpserted, ErpInvoiceIssued

INVOICE_EXAMPLE = ErpInvoiceIssued.event_type.examples()[0]


def test_the_customer_upload_carries_every_field_of_the_erp_event() -> None:
    assert set(CustomerUpload.model_fields) == set(ErpCustomerUpserted.model_fields)


def test_the_invoice_upload_carries_every_field_of_the_erp_event() -> None:
    assert set(InvoiceUpload.model_fields) == set(ErpInvoiceIssued.model_fields)


def test_an_upload_becomes_the_erp_event_of_the_callers_tenant() -> None:
    body = {**INVOICE_EXAMPLE, "tenant": None}
    event = InvoiceUpload.model_validate(body).as_event("other-be")
    assert event == ErpInvoiceIssued.model_validate({**INVOICE_EXAMPLE, "tenant": "other-be"})


def test_a_customer_upload_without_a_tenant_becomes_the_erp_event() -> None:
    body = {k: v for k, v in CUSTOMER_EXAMPLE.items() if k != "tenant"}
    event = CustomerUpload.model_validate(body).as_event("acme-nl")
    assert event == ErpCustomerUpserted.model_validate(CUSTOMER_EXAMPLE)
    assert event.updated_at == datetime(2026, 11, 2, 9, 15, tzinfo=UTC)
