"""Ingestion's HTTP API: the operations of the ERP topics, one record at a time or in batches,
and reads of what was received and its status.

Every write runs the same use cases as the topic consumer, in a transaction of its own. Writes
take an optional `Idempotency-Key`; without one, the content fingerprints still make a repeated
request harmless (the same record again is a duplicate). The tenant is always the caller's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, WithJsonSchema

from ingestion import handlers
from ingestion.adapters.repository import (
    IngestionRepository,
    StoredCreditNote,
    StoredCustomer,
    StoredInvoice,
)
from ingestion.domain.customers import CustomerChange
from ingestion.domain.lifecycle import InvoiceStatus, Outcome, Refusal
from ingestion.domain.limits import MAX_BATCH_ITEMS, MAX_BODY_BYTES
from ingestion.domain.records import RECORD_TYPES, ErpRecord, parse_record, record_id
from ingestion.entrypoints.auth import ErpTenant
from ingestion.entrypoints.dependencies import Service
from ingestion.entrypoints.guards import GUARD_PROBLEMS, GuardedRoute
from ingestion.entrypoints.idempotency import (
    IDEMPOTENCY_PROBLEMS,
    IdempotencyKey,
    Reply,
    respond_once,
)
from settle_shared.db import Transaction
from settle_shared.errors import Problem
from settle_shared.events.common import CustomerMaster, EntityId, TenantId
from settle_shared.events.erp import (
    CUSTOMER_EXAMPLE,
    ErpCreditNoteIssued,
    ErpCustomerUpserted,
    ErpInvoiceAmended,
    ErpInvoiceCancelled,
    ErpInvoiceIssued,
)
from settle_shared.money import Money
from settle_shared.problems import PROBLEM_TYPE_BASE, ProblemError, documented_problem

router = APIRouter(prefix="/v1", tags=["ingestion"], route_class=GuardedRoute)

WRITE_PROBLEMS = {**GUARD_PROBLEMS, **IDEMPOTENCY_PROBLEMS}
OPTIONAL_TENANT = Field(
    default=None,
    description="Not needed: the credentials decide the tenant. When given, it must be theirs.",
)


def _without_tenant(example: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in example.items() if name != "tenant"}


_CUSTOMER_WITH_EVERY_ROLE: dict[str, Any] = {
    "customer_id": "C-2002",
    "master": {
        "name": "Brasserie Lambert SA",
        "country": "BE",
        "language": "fr",
        "time_zone": "Europe/Brussels",
        "vat_number": "BE0123456789",
        "contacts": [
            {"role": "accounts_payable", "name": "Comptabilité", "email": "ap@lambert.example"},
            {"role": "buyer", "name": "Luc Lambert", "phone": "+32470123456", "language": "nl"},
            {"role": "legal", "name": "Me Dubois", "email": "legal@dubois-avocats.example"},
        ],
        "preferred_channel": "email",
        "consented_channels": ["email", "sms", "letter"],
        "postal_address": {
            "lines": ["Rue de la Loi 16"],
            "postal_code": "1000",
            "city": "Bruxelles",
            "country": "BE",
        },
        "strategic_account": True,
        "codes": {"sector": "hospitality", "size": "medium", "region": "brussels"},
    },
    "updated_at": "2026-11-03T08:00:00+01:00",
}


def _examples(model: type[ErpRecord]) -> list[Any]:
    return [_without_tenant(example) for example in model.event_type.examples()]


# Uploads: the ERP events of the topics, without the tenant


class CustomerUpload(BaseModel):
    """A customer record exactly as on erp.customers.v1, without the tenant."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [_without_tenant(CUSTOMER_EXAMPLE), _CUSTOMER_WITH_EVERY_ROLE]
        },
    )

    tenant: TenantId | None = OPTIONAL_TENANT
    customer_id: EntityId
    master: CustomerMaster
    updated_at: AwareDatetime = Field(
        description="When the ERP last changed the record; orders versions of the same customer"
    )

    def as_event(self, tenant: str) -> ErpCustomerUpserted:
        return ErpCustomerUpserted.model_validate({**self.model_dump(), "tenant": tenant})


class InvoiceUpload(BaseModel):
    """An invoice as it now is, exactly as on erp.invoices.v1 (issued or amended), without the
    tenant. The first version issues the invoice; a later one with other content amends it."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={"examples": _examples(ErpInvoiceIssued) + _examples(ErpInvoiceAmended)},
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
    reason: str | None = Field(default=None, description="Why the invoice was amended")
    updated_at: AwareDatetime = Field(
        description="When the ERP last changed the invoice; orders versions of the same invoice"
    )

    def as_event(self, tenant: str) -> ErpInvoiceAmended:
        """The whole invoice as it now is; whether it issues or amends is decided on arrival."""
        return ErpInvoiceAmended.model_validate({**self.model_dump(), "tenant": tenant})


class CancellationUpload(BaseModel):
    """An invoice cancellation exactly as on erp.invoices.v1, without the tenant and invoice id."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {k: v for k, v in e.items() if k != "invoice_id"}
                for e in _examples(ErpInvoiceCancelled)
            ]
        },
    )

    tenant: TenantId | None = OPTIONAL_TENANT
    customer_id: EntityId
    reason: str | None = None
    updated_at: AwareDatetime

    def as_event(self, tenant: str, invoice_id: str) -> ErpInvoiceCancelled:
        return ErpInvoiceCancelled.model_validate(
            {**self.model_dump(), "tenant": tenant, "invoice_id": invoice_id}
        )


class CreditNoteUpload(BaseModel):
    """A credit note exactly as on erp.invoices.v1, without the tenant."""

    model_config = ConfigDict(
        extra="ignore", json_schema_extra={"examples": _examples(ErpCreditNoteIssued)}
    )

    tenant: TenantId | None = OPTIONAL_TENANT
    customer_id: EntityId
    credit_note_id: EntityId
    credit_note_number: EntityId
    invoice_id: EntityId | None = Field(
        default=None, description="The invoice it credits, when the ERP links one"
    )
    issue_date: date
    amount: Money = Field(description="The amount credited, as a positive amount")
    reason: str | None = None
    updated_at: AwareDatetime

    def as_event(self, tenant: str) -> ErpCreditNoteIssued:
        return ErpCreditNoteIssued.model_validate({**self.model_dump(), "tenant": tenant})


# Views


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
    payment_terms: str | None
    updated_at: datetime = Field(description="The ERP's timestamp of the version held")
    revision: int = Field(description="Increases by one with every amendment and cancellation")
    status: InvoiceStatus
    cancel_reason: str | None
    received_at: datetime = Field(description="When this revision was accepted")
    received_before_customer: bool = Field(
        description="The invoice arrived before any record of its customer"
    )
    customer_known: bool = Field(description="A record of the customer has been received")


class InvoiceReceipt(InvoiceView):
    outcome: Outcome = Field(
        description="issued, amended or cancelled (announced); duplicate (the version held, "
        "again) or stale (older than the version held), which change nothing"
    )


class InvoicePageView(BaseModel):
    invoices: list[InvoiceView]
    next_after: str | None = Field(description="Pass as `after` for the next page; null at the end")


class CreditNoteView(BaseModel):
    credit_note_id: str
    customer_id: str
    credit_note_number: str
    invoice_id: str | None
    issue_date: date
    amount: Money
    reason: str | None
    updated_at: datetime
    received_at: datetime


class CreditNoteReceipt(CreditNoteView):
    outcome: Outcome = Field(description="issued (announced), duplicate or stale")


# Batches


_ITEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "data"],
    "properties": {
        "type": {"type": "string", "enum": list(RECORD_TYPES)},
        "data": {
            "type": "object",
            "description": "The event's payload as on its topic (see contracts/schemas); the "
            "tenant may be left out",
        },
    },
}


class BatchRequest(BaseModel):
    """ERP records of any type, in the order the ERP produced them."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {"type": model.event_type.ce_type, "data": example}
                        for model in (
                            ErpCustomerUpserted,
                            ErpInvoiceIssued,
                            ErpInvoiceAmended,
                            ErpCreditNoteIssued,
                            ErpInvoiceCancelled,
                        )
                        for example in _examples(model)
                    ]
                }
            ]
        }
    )

    # Items are checked one by one, so that one bad item is reported without refusing the rest.
    items: list[Annotated[Any, WithJsonSchema(_ITEM_SCHEMA)]] = Field(
        min_length=1, max_length=MAX_BATCH_ITEMS
    )


ItemOutcome = Literal[
    "issued",
    "amended",
    "cancelled",
    "created",
    "changed",
    "unchanged",
    "duplicate",
    "stale",
    "rejected",
]


class ItemProblem(BaseModel):
    type: str
    title: str
    detail: str
    errors: list[dict[str, str]]


class ItemResult(BaseModel):
    index: int
    type: str | None
    id: str | None = Field(description="The customer, invoice or credit note id")
    outcome: ItemOutcome
    revision: int | None = None
    status: int = Field(
        description="What a single request would have answered: 201 created or issued, 200 "
        "accepted otherwise, 409 conflict, 422 invalid"
    )
    problem: ItemProblem | None = Field(
        default=None, description="Why the item was rejected (RFC 9457 fields)"
    )


class BatchReport(BaseModel):
    accepted: int
    rejected: int
    items: list[ItemResult]


# Routes


@router.put(
    "/customers/{customer_id}",
    summary="Create or update a customer from the ERP",
    responses={
        200: {
            "model": CustomerReceipt,
            "description": "A change (next revision), the same content again, or a stale version",
        },
        201: {"model": CustomerReceipt, "description": "First version of this customer"},
        **WRITE_PROBLEMS,
    },
    response_model=CustomerReceipt,
    max_body_size=MAX_BODY_BYTES,
)
async def put_customer(
    customer_id: str,
    upload: CustomerUpload,
    tenant: ErpTenant,
    service: Service,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    _require_identity(("customer_id", customer_id, upload.customer_id), tenant, upload.tenant)

    async def run(tx: Transaction) -> Reply:
        result = await _record_one(tx, service, tenant, upload.as_event(tenant))
        assert isinstance(result.held, StoredCustomer), "a customer is held"
        receipt = CustomerReceipt(**_customer_fields(result.held), outcome=result.outcome)
        status = 201 if result.outcome is CustomerChange.CREATED else 200
        return Reply(status, receipt.model_dump(mode="json"))

    return await _respond(
        service, tenant, idempotency_key, f"PUT customer {customer_id}", upload, run
    )


@router.get(
    "/customers/{customer_id}",
    summary="A customer as received, with its revision",
    responses={404: documented_problem("No such customer for this tenant")},
)
async def get_customer(customer_id: str, tenant: ErpTenant, service: Service) -> CustomerView:
    async with service.db.pool.acquire() as connection:
        stored = await IngestionRepository(connection).customer(tenant, customer_id)
    if stored is None:
        raise ProblemError(
            404, "not-found", "No such customer", f"customer {customer_id} was never received"
        )
    return CustomerView(**_customer_fields(stored))


@router.put(
    "/invoices/{invoice_id}",
    summary="Issue or amend an invoice from the ERP",
    description=(
        "Send the invoice as it now is. The first version issues it (201); a version with a "
        "later `updated_at` and other content amends it (200, announced as an amendment with "
        "the fields that changed); the same content again is a duplicate and an older version "
        "is stale (200, nothing changes)."
    ),
    responses={
        200: {"model": InvoiceReceipt, "description": "Amended, a duplicate, or stale"},
        201: {"model": InvoiceReceipt, "description": "The invoice is issued"},
        409: documented_problem(
            "Other content under the same updated_at, a change of customer or currency, or an "
            "amendment of a cancelled invoice"
        ),
        **WRITE_PROBLEMS,
    },
    response_model=InvoiceReceipt,
    max_body_size=MAX_BODY_BYTES,
)
async def put_invoice(
    invoice_id: str,
    upload: InvoiceUpload,
    tenant: ErpTenant,
    service: Service,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    _require_identity(("invoice_id", invoice_id, upload.invoice_id), tenant, upload.tenant)
    return await _respond(
        service,
        tenant,
        idempotency_key,
        f"PUT invoice {invoice_id}",
        upload,
        _invoice_change(service, tenant, invoice_id, upload.as_event(tenant)),
    )


@router.post(
    "/invoices/{invoice_id}/cancellation",
    summary="Cancel an invoice from the ERP",
    description="Final: a cancelled invoice is never amended again. Cancelling twice is harmless.",
    responses={
        200: {"model": InvoiceReceipt, "description": "Cancelled, or already cancelled"},
        409: documented_problem("The invoice was never issued, or belongs to another customer"),
        **WRITE_PROBLEMS,
    },
    response_model=InvoiceReceipt,
    max_body_size=MAX_BODY_BYTES,
)
async def cancel_invoice(
    invoice_id: EntityId,
    upload: CancellationUpload,
    tenant: ErpTenant,
    service: Service,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    _require_identity(None, tenant, upload.tenant)
    return await _respond(
        service,
        tenant,
        idempotency_key,
        f"cancel invoice {invoice_id}",
        upload,
        _invoice_change(service, tenant, invoice_id, upload.as_event(tenant, invoice_id)),
    )


@router.get(
    "/invoices/{invoice_id}",
    summary="An invoice as received, with its revision and status",
    responses={404: documented_problem("No such invoice for this tenant")},
)
async def get_invoice(invoice_id: str, tenant: ErpTenant, service: Service) -> InvoiceView:
    async with service.db.pool.acquire() as connection:
        repository = IngestionRepository(connection)
        stored = await repository.invoice(tenant, invoice_id)
        if stored is None:
            raise ProblemError(
                404, "not-found", "No such invoice", f"invoice {invoice_id} was never received"
            )
        customer_known = await repository.customer_known(tenant, stored.state.content.customer_id)
    return InvoiceView(**_invoice_fields(stored, customer_known))


@router.get(
    "/invoices",
    summary="The invoices received, by invoice id, a page at a time",
)
async def list_invoices(
    tenant: ErpTenant,
    service: Service,
    customer_id: Annotated[str | None, Query(description="Only this customer's")] = None,
    status: Annotated[InvoiceStatus | None, Query(description="Only open or cancelled")] = None,
    after: Annotated[str | None, Query(description="The next_after of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> InvoicePageView:
    async with service.db.pool.acquire() as connection:
        repository = IngestionRepository(connection)
        page = await repository.invoice_page(
            tenant, customer_id=customer_id, status=status, after=after, limit=limit
        )
        known = await repository.known_customers(
            tenant, (i.state.content.customer_id for i in page.invoices)
        )
    return InvoicePageView(
        invoices=[
            InvoiceView(**_invoice_fields(i, i.state.content.customer_id in known))
            for i in page.invoices
        ],
        next_after=page.next_after,
    )


@router.put(
    "/credit-notes/{credit_note_id}",
    summary="Issue a credit note from the ERP",
    responses={
        200: {"model": CreditNoteReceipt, "description": "The same credit note again, or stale"},
        201: {"model": CreditNoteReceipt, "description": "The credit note is issued"},
        409: documented_problem(
            "Issued before with other content, or it does not fit the invoice it credits "
            "(unknown, cancelled, another customer or currency, crediting more than invoiced)"
        ),
        **WRITE_PROBLEMS,
    },
    response_model=CreditNoteReceipt,
    max_body_size=MAX_BODY_BYTES,
)
async def put_credit_note(
    credit_note_id: str,
    upload: CreditNoteUpload,
    tenant: ErpTenant,
    service: Service,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    _require_identity(
        ("credit_note_id", credit_note_id, upload.credit_note_id), tenant, upload.tenant
    )

    async def run(tx: Transaction) -> Reply:
        result = await _record_one(tx, service, tenant, upload.as_event(tenant))
        assert isinstance(result.held, StoredCreditNote), "a credit note is held"
        receipt = CreditNoteReceipt(**_credit_note_fields(result.held), outcome=result.outcome)
        return Reply(
            201 if result.outcome is Outcome.ISSUED else 200, receipt.model_dump(mode="json")
        )

    return await _respond(
        service, tenant, idempotency_key, f"PUT credit note {credit_note_id}", upload, run
    )


@router.get(
    "/credit-notes/{credit_note_id}",
    summary="A credit note as received",
    responses={404: documented_problem("No such credit note for this tenant")},
)
async def get_credit_note(
    credit_note_id: str, tenant: ErpTenant, service: Service
) -> CreditNoteView:
    async with service.db.pool.acquire() as connection:
        stored = await IngestionRepository(connection).credit_note(tenant, credit_note_id)
    if stored is None:
        raise ProblemError(
            404,
            "not-found",
            "No such credit note",
            f"credit note {credit_note_id} was never received",
        )
    return CreditNoteView(**_credit_note_fields(stored))


@router.post(
    "/batch",
    summary="Send many ERP records at once, with a result per record",
    description=(
        "Customers, invoice issues and amendments, cancellations and credit notes, each as "
        "`{type, data}` with the event type and payload of its topic, up to "
        f"{MAX_BATCH_ITEMS} per request, processed in one transaction. The answer is 200 "
        "whenever the batch itself could be read, with each item's own outcome, revision and "
        "problem: a rejected item does not stop the others. (Not 207 Multi-Status: that is "
        "WebDAV's, with an XML body; a 200 carrying per-item results in JSON is what HTTP "
        "clients and proxies handle as intended.) Customers are taken before invoices, so an "
        "invoice sent with its customer is never 'received before its customer'."
    ),
    responses={
        200: {"model": BatchReport, "description": "Every item's result, in request order"},
        **WRITE_PROBLEMS,
    },
    response_model=BatchReport,
    max_body_size=MAX_BODY_BYTES,
)
async def post_batch(
    batch: BatchRequest,
    tenant: ErpTenant,
    service: Service,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    parsed = [parse_record(item, tenant, f"/items/{i}") for i, item in enumerate(batch.items)]
    records = [(i, r) for i, r in enumerate(parsed) if not isinstance(r, list)]

    async def run(tx: Transaction) -> Reply:
        results = await handlers.record(tx, service.outbox, tenant, [r for _, r in records])
        by_index = dict(zip([i for i, _ in records], results, strict=True))
        items = [
            _item_result(i, batch.items[i], parsed[i], by_index.get(i))
            for i in range(len(batch.items))
        ]
        rejected = sum(1 for item in items if item["outcome"] == "rejected")
        report = {"accepted": len(items) - rejected, "rejected": rejected, "items": items}
        return Reply(200, report)

    return await _respond(service, tenant, idempotency_key, "POST batch", batch, run)


# Helpers


Run = Callable[[Transaction], Awaitable[Reply]]


async def _respond(
    service: Service, tenant: str, key: str | None, operation: str, body: BaseModel, run: Run
) -> JSONResponse:
    return await respond_once(
        service.db,
        tenant,
        key,
        lambda: {"operation": operation, "body": body.model_dump(mode="json")},
        service.idempotency_keys_kept_for,
        run,
    )


def _invoice_change(
    service: Service,
    tenant: str,
    invoice_id: str,
    change: ErpInvoiceAmended | ErpInvoiceCancelled,
) -> Run:
    async def run(tx: Transaction) -> Reply:
        result = await _record_one(tx, service, tenant, change)
        assert isinstance(result.held, StoredInvoice), "an invoice is held"
        receipt = InvoiceReceipt(
            **_invoice_fields(result.held, result.customer_known), outcome=result.outcome
        )
        return Reply(
            201 if result.outcome is Outcome.ISSUED else 200, receipt.model_dump(mode="json")
        )

    return run


async def _record_one(
    tx: Transaction, service: Service, tenant: str, record: ErpRecord
) -> handlers.Accepted:
    [result] = await handlers.record(tx, service.outbox, tenant, [record])
    if isinstance(result, Refusal):
        raise ProblemError(
            422 if result.kind == "invalid" else 409,
            result.slug,
            result.title,
            result.reason,
            _located(result.problems, "/body"),
        )
    return result


def _item_result(
    index: int, item: Any, parsed: ErpRecord | list[Problem], result: handlers.Result | None
) -> dict[str, Any]:
    kind = item.get("type") if isinstance(item, dict) else None
    if isinstance(parsed, list):
        refusal = Refusal(
            "invalid", "validation-failed", "The record is not valid", "", tuple(parsed)
        )
        return _rejected_item(index, kind, None, refusal, "")
    assert result is not None, "every parsed record has a result"
    if isinstance(result, Refusal):
        return _rejected_item(index, kind, record_id(parsed), result, f"/items/{index}/data")
    created = result.outcome in (Outcome.ISSUED, CustomerChange.CREATED)
    return {
        "index": index,
        "type": kind,
        "id": record_id(parsed),
        "outcome": str(result.outcome),
        "revision": result.revision,
        "status": 201 if created else 200,
        "problem": None,
    }


def _rejected_item(
    index: int, kind: str | None, the_id: str | None, refusal: Refusal, prefix: str
) -> dict[str, Any]:
    problems = _located(refusal.problems, prefix)
    return {
        "index": index,
        "type": kind,
        "id": the_id,
        "outcome": "rejected",
        "revision": None,
        "status": 422 if refusal.kind == "invalid" else 409,
        "problem": {
            "type": PROBLEM_TYPE_BASE + refusal.slug,
            "title": refusal.title,
            "detail": refusal.reason or f"{len(problems)} problem(s) found",
            "errors": [problem.as_dict() for problem in problems],
        },
    }


def _require_identity(
    identity: tuple[str, str, str] | None, tenant: str, body_tenant: str | None
) -> None:
    """The path names the record and the credentials its tenant; a body saying otherwise is
    wrong."""
    problems = []
    if identity is not None:
        id_field, path_id, body_id = identity
        if body_id != path_id:
            problems.append(
                Problem(f"/body/{id_field}", f"{body_id} differs from the {id_field} in the path")
            )
    if body_tenant is not None and body_tenant != tenant:
        problems.append(Problem("/body/tenant", f"{body_tenant} is not the tenant you act for"))
    if problems:
        raise ProblemError(
            422,
            "validation-failed",
            "The request is not valid",
            f"{len(problems)} problem(s) found",
            problems,
        )


def _located(problems: tuple[Problem, ...], prefix: str) -> list[Problem]:
    """Payload pointers made relative to the request, like FastAPI's own ('/body/...')."""
    return [Problem(f"{prefix}{problem.location}", problem.message) for problem in problems]


def _customer_fields(stored: StoredCustomer) -> dict[str, Any]:
    return {
        "customer_id": stored.customer_id,
        "master": stored.master,
        "updated_at": stored.version.updated_at,
        "revision": stored.revision,
        "received_at": stored.received_at,
    }


def _invoice_fields(stored: StoredInvoice, customer_known: bool) -> dict[str, Any]:
    state = stored.state
    content = state.content
    return {
        "invoice_id": stored.invoice_id,
        "customer_id": content.customer_id,
        "invoice_number": content.invoice_number,
        "issue_date": content.issue_date,
        "due_date": content.due_date,
        "amount": content.amount,
        "payment_reference": content.payment_reference,
        "payment_terms": content.payment_terms,
        "updated_at": state.erp_updated_at,
        "revision": state.revision,
        "status": state.status,
        "cancel_reason": state.cancel_reason,
        "received_at": state.received_at,
        "received_before_customer": state.received_before_customer,
        "customer_known": customer_known,
    }


def _credit_note_fields(stored: StoredCreditNote) -> dict[str, Any]:
    content = stored.content
    return {
        "credit_note_id": stored.credit_note_id,
        "customer_id": content.customer_id,
        "credit_note_number": content.credit_note_number,
        "invoice_id": content.invoice_id,
        "issue_date": content.issue_date,
        "amount": content.amount,
        "reason": stored.reason,
        "updated_at": stored.erp_updated_at,
        "received_at": stored.received_at,
    }
