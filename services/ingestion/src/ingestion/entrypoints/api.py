"""Ingestion's HTTP API: the ERP operations of the topics, one record at a time, and reads.

A PUT runs the same use case as the topic consumer, in a transaction of its own (no inbox: the
content fingerprint makes a repeated PUT harmless). The tenant is always the API key's.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from ingestion import handlers
from ingestion.adapters.repository import IngestionRepository, StoredCustomer, StoredInvoice
from ingestion.domain.customers import CustomerChange
from ingestion.domain.invoices import InvoiceIssueOutcome, InvoiceReissued, InvoiceStatus
from settle_shared.auth import CallerTenant
from settle_shared.errors import InvalidMessage, Problem
from settle_shared.events.common import CustomerMaster, EntityId, TenantId
from settle_shared.events.erp import CUSTOMER_EXAMPLE, ErpCustomerUpserted, ErpInvoiceIssued
from settle_shared.http import DatabaseDependency
from settle_shared.money import Money
from settle_shared.problems import ProblemError, documented_problem

router = APIRouter(prefix="/v1", tags=["ingestion"])


OPTIONAL_TENANT = Field(
    default=None,
    description="Not needed: the API key decides the tenant. When given, it must be the key's.",
)


def _without_tenant(example: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in example.items() if name != "tenant"}


class CustomerUpload(BaseModel):
    """A customer record exactly as on erp.customers.v1, without the tenant."""

    model_config = ConfigDict(
        extra="ignore", json_schema_extra={"examples": [_without_tenant(CUSTOMER_EXAMPLE)]}
    )

    tenant: TenantId | None = OPTIONAL_TENANT
    customer_id: EntityId
    master: CustomerMaster
    updated_at: AwareDatetime = Field(
        description="When the ERP last changed the record; orders versions of the same customer"
    )

    def as_event(self, tenant: str) -> ErpCustomerUpserted:
        return ErpCustomerUpserted(
            tenant=tenant,
            customer_id=self.customer_id,
            master=self.master,
            updated_at=self.updated_at,
        )


class InvoiceUpload(BaseModel):
    """An invoice exactly as on erp.invoices.v1, without the tenant."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [_without_tenant(e) for e in ErpInvoiceIssued.event_type.examples()]
        },
    )

    tenant: TenantId | None = OPTIONAL_TENANT
    customer_id: EntityId
    invoice_id: EntityId = Field(description="The ERP's document id, unique within the tenant")
    invoice_number: EntityId = Field(description="The number printed on the invoice")
    issue_date: date
    due_date: date
    amount: Money = Field(description="Total amount payable, tax included")
    payment_reference: str | None = Field(
        default=None, description="Structured creditor reference printed on the invoice"
    )
    payment_terms: str | None = Field(
        default=None, description="The ERP's payment terms code, e.g. NET14"
    )
    updated_at: AwareDatetime

    def as_event(self, tenant: str) -> ErpInvoiceIssued:
        return ErpInvoiceIssued(
            tenant=tenant,
            customer_id=self.customer_id,
            invoice_id=self.invoice_id,
            invoice_number=self.invoice_number,
            issue_date=self.issue_date,
            due_date=self.due_date,
            amount=self.amount,
            payment_reference=self.payment_reference,
            payment_terms=self.payment_terms,
            updated_at=self.updated_at,
        )


class CustomerView(BaseModel):
    customer_id: str
    master: CustomerMaster
    updated_at: datetime = Field(description="The ERP's timestamp of the version held")
    revision: int = Field(description="Increases by one with every accepted change")
    received_at: datetime = Field(description="When this revision was accepted")


class CustomerReceipt(CustomerView):
    outcome: CustomerChange = Field(
        description="created or changed (announced), unchanged, or stale (older than the "
        "version held, ignored)"
    )


class InvoiceView(BaseModel):
    invoice_id: str
    customer_id: str
    invoice_number: str
    issue_date: date
    due_date: date
    amount: Money
    payment_reference: str | None
    updated_at: datetime = Field(description="The ERP's timestamp of the issue held")
    revision: int
    status: InvoiceStatus
    received_at: datetime
    received_before_customer: bool = Field(
        description="The invoice arrived before any record of its customer"
    )
    customer_known: bool = Field(description="A record of the customer has been received")


class InvoiceReceipt(InvoiceView):
    outcome: InvoiceIssueOutcome = Field(
        description="issued (announced) or duplicate (identical to the invoice already issued)"
    )


@router.put(
    "/customers/{customer_id}",
    summary="Create or update a customer from the ERP",
    responses={
        200: {
            "description": "A change (next revision), the same content again, or a stale version"
        },
        201: {"model": CustomerReceipt, "description": "First version of this customer"},
        422: documented_problem("The record breaks the schema or a rule; every problem listed"),
    },
)
async def put_customer(
    customer_id: str,
    upload: CustomerUpload,
    tenant: CallerTenant,
    db: DatabaseDependency,
    response: Response,
) -> CustomerReceipt:
    _require_identity("customer_id", customer_id, upload.customer_id, tenant, upload.tenant)
    try:
        async with db.transaction() as tx:
            change = await handlers.upsert_customer(tx, upload.as_event(tenant))
            stored = await IngestionRepository(tx.connection).customer(tenant, customer_id)
    except InvalidMessage as rejection:
        raise _unprocessable(rejection) from rejection
    assert stored is not None, "an accepted customer is stored"
    if change is CustomerChange.CREATED:
        response.status_code = 201
    return CustomerReceipt(**_customer_fields(stored), outcome=change)


@router.get(
    "/customers/{customer_id}",
    summary="A customer as received, with its revision",
    responses={404: documented_problem("No such customer for this tenant")},
)
async def get_customer(
    customer_id: str, tenant: CallerTenant, db: DatabaseDependency
) -> CustomerView:
    async with db.pool.acquire() as connection:
        stored = await IngestionRepository(connection).customer(tenant, customer_id)
    if stored is None:
        raise ProblemError(
            404, "not-found", "No such customer", f"customer {customer_id} was never received"
        )
    return CustomerView(**_customer_fields(stored))


@router.put(
    "/invoices/{invoice_id}",
    summary="Issue an invoice from the ERP",
    responses={
        200: {"description": "The same invoice again: a harmless duplicate"},
        201: {"model": InvoiceReceipt, "description": "The invoice is issued"},
        409: documented_problem("The invoice was already issued with different content"),
        422: documented_problem("The invoice breaks the schema or a rule; every problem listed"),
    },
)
async def put_invoice(
    invoice_id: str,
    upload: InvoiceUpload,
    tenant: CallerTenant,
    db: DatabaseDependency,
    response: Response,
) -> InvoiceReceipt:
    _require_identity("invoice_id", invoice_id, upload.invoice_id, tenant, upload.tenant)
    try:
        async with db.transaction() as tx:
            outcome = await handlers.issue_invoice(tx, upload.as_event(tenant))
            repository = IngestionRepository(tx.connection)
            stored = await repository.invoice(tenant, invoice_id)
            customer_known = await repository.customer_known(tenant, upload.customer_id)
    except InvoiceReissued as conflict:
        raise ProblemError(
            409,
            "conflict",
            "Invoice already issued with different content",
            conflict.reason,
            _in_body(conflict.problems),
        ) from conflict
    except InvalidMessage as rejection:
        raise _unprocessable(rejection) from rejection
    assert stored is not None, "an issued invoice is stored"
    if outcome is InvoiceIssueOutcome.ISSUED:
        response.status_code = 201
    return InvoiceReceipt(**_invoice_fields(stored, customer_known), outcome=outcome)


@router.get(
    "/invoices/{invoice_id}",
    summary="An invoice as received, with its revision and status",
    responses={404: documented_problem("No such invoice for this tenant")},
)
async def get_invoice(invoice_id: str, tenant: CallerTenant, db: DatabaseDependency) -> InvoiceView:
    async with db.pool.acquire() as connection:
        repository = IngestionRepository(connection)
        stored = await repository.invoice(tenant, invoice_id)
        if stored is None:
            raise ProblemError(
                404, "not-found", "No such invoice", f"invoice {invoice_id} was never received"
            )
        customer_known = await repository.customer_known(tenant, stored.content.customer_id)
    return InvoiceView(**_invoice_fields(stored, customer_known))


def _require_identity(
    id_field: str, path_id: str, body_id: str, tenant: str, body_tenant: str | None
) -> None:
    """The path names the record and the API key its tenant; a body saying otherwise is wrong."""
    problems = []
    if body_id != path_id:
        problems.append(
            Problem(f"/body/{id_field}", f"{body_id} differs from the {id_field} in the path")
        )
    if body_tenant is not None and body_tenant != tenant:
        problems.append(
            Problem("/body/tenant", f"{body_tenant} is not the tenant this API key acts for")
        )
    if problems:
        raise ProblemError(
            422,
            "validation-failed",
            "The request is not valid",
            f"{len(problems)} problem(s) found",
            problems,
        )


def _unprocessable(rejection: InvalidMessage) -> ProblemError:
    return ProblemError(
        422,
        "validation-failed",
        "The request is not valid",
        rejection.reason,
        _in_body(rejection.problems),
    )


def _in_body(problems: tuple[Problem, ...]) -> list[Problem]:
    """Payload pointers, made relative to the request like FastAPI's own ('/body/...')."""
    return [Problem(f"/body{problem.location}", problem.message) for problem in problems]


def _customer_fields(stored: StoredCustomer) -> dict[str, Any]:
    return {
        "customer_id": stored.customer_id,
        "master": stored.master,
        "updated_at": stored.version.updated_at,
        "revision": stored.revision,
        "received_at": stored.received_at,
    }


def _invoice_fields(stored: StoredInvoice, customer_known: bool) -> dict[str, Any]:
    content = stored.content
    return {
        "invoice_id": stored.invoice_id,
        "customer_id": content.customer_id,
        "invoice_number": content.invoice_number,
        "issue_date": content.issue_date,
        "due_date": content.due_date,
        "amount": content.amount,
        "payment_reference": content.payment_reference,
        "updated_at": stored.erp_updated_at,
        "revision": stored.revision,
        "status": stored.status,
        "received_at": stored.received_at,
        "received_before_customer": stored.received_before_customer,
        "customer_known": customer_known,
    }
