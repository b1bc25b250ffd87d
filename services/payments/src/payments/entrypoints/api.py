"""Payments' HTTP API: bank statement upload, a payment with its match evidence, the work queue."""

from __future__ import annotations

from datetime import date, datetime
from tempfile import SpooledTemporaryFile
from typing import IO, Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field, ValidationError

from payments import corrections, statement_import
from payments.adapters.statements import PaymentRecord, StatementRepository
from payments.domain.manual import ManualMatchRefused, Requested
from payments.domain.statement import StatementRejected
from settle_shared.auth import CallerIdentity, CallerTenant
from settle_shared.http import DatabaseDependency
from settle_shared.money import Money
from settle_shared.problems import ProblemError, documented_problem

router = APIRouter(prefix="/v1", tags=["payments"])

MAX_STATEMENT_BYTES = 200 * 1024 * 1024
# ISO 20022 files are XML; an MT940 file is text. Which one a file is, its content tells.
STATEMENT_MEDIA_TYPES = ("application/xml", "text/xml", "text/plain", "application/octet-stream")
_SPOOLED_IN_MEMORY_BYTES = 8 * 1024 * 1024


class StatementImportView(BaseModel):
    statement_id: str
    account: str
    status: Literal["imported", "already_imported"]
    entries: int
    credits: int
    debits: int
    reversals: int
    returned_to_this_account: int = Field(
        description="Credits bringing back money this account sent (the bank's return "
        "information): recorded, not payments to match"
    )
    sent_back: int = Field(
        description="Payments received earlier that a debit here sends back to the payer (a "
        "reversed booking or a return, named by end-to-end id): taken off their invoices, "
        "which are open again"
    )
    sent_back_unknown: int = Field(
        description="Such debits that name no payment (no end-to-end id), or none that "
        "Settle holds on the account alone: recorded only"
    )
    not_booked: int
    already_booked: int
    payments: int
    matched: int
    unmatched: int


class ImportView(BaseModel):
    status: Literal["imported", "already_imported"]
    statements: list[StatementImportView]
    entries: int
    payments: int
    matched: int
    unmatched: int


class EvidenceView(BaseModel):
    signals: list[str]
    rejected: list[str]


class ReferenceView(BaseModel):
    value: str
    code: str | None
    issuer: str | None
    scheme: str | None
    valid: bool


class AllocationView(BaseModel):
    invoice_id: str
    invoice_number: str
    amount: Money


class SuggestionView(BaseModel):
    customer_id: str
    invoice_ids: list[str]
    invoice_numbers: list[str]
    score: float
    reason: str


class PaymentView(BaseModel):
    payment_id: str
    source: str
    status: Literal["matched", "unmatched", "returned"] = Field(
        description="returned: the payment went back to the payer (reason says when and why)"
    )
    amount: Money
    booked_on: date
    value_date: date | None
    payer_name: str | None
    payer_account: str | None
    remittance: list[str]
    structured_references: list[ReferenceView]
    end_to_end_id: str | None
    bank_reference: str | None
    account: str | None
    statement_id: str | None
    received_at: datetime
    reason: str | None
    evidence: EvidenceView
    allocations: list[AllocationView]
    suggestions: list[SuggestionView]


class RequestedAllocation(BaseModel):
    invoice_id: str = Field(min_length=1, max_length=200)
    amount: Money | None = Field(
        default=None,
        description="How much of the payment goes to this invoice; left out, the invoices "
        "without an amount are filled earliest due first from what is left",
    )


class ManualMatchRequest(BaseModel):
    allocations: list[RequestedAllocation] = Field(min_length=1, max_length=100)
    note: str = Field(min_length=1, max_length=500, description="Why: kept with the evidence")


class UnmatchRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=500, description="Why the match was wrong")


class WorkQueueView(BaseModel):
    items: list[PaymentView]
    next_after: int | None


_STATEMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "An ISO 20022 camt.053 (001.02, .03, .04, .08) or camt.054 (.02, .04, "
        ".08) file, or a SWIFT MT940 file; the content tells which",
        "content": {
            media_type: {"schema": {"type": "string", "format": "binary"}}
            for media_type in STATEMENT_MEDIA_TYPES
        },
    }
}


@router.post(
    "/statements",
    status_code=201,
    summary="Upload a bank statement file (camt.053, camt.054 or MT940)",
    description=(
        "The whole file is checked first (well-formed, supported version, balances and batch "
        "totals adding up); a file that fails is rejected whole with every problem found. Then "
        "each statement is imported in chunks of entries, each committed with how far it got, "
        "so an upload cut short resumes where it stopped when sent again: 201 when something "
        "was new, 200 when every statement had been imported before with the same content."
    ),
    openapi_extra=_STATEMENT_BODY,
    responses={
        200: {"model": ImportView, "description": "Every statement was imported before"},
        409: documented_problem("A statement of the file was imported before with other content"),
        413: documented_problem("The file is larger than the limit"),
        415: documented_problem("The body is not sent as XML or text"),
        422: documented_problem(
            "The file was rejected whole (unreadable, unsupported, or not adding up); "
            "every problem found is listed with where it is in the file"
        ),
    },
)
async def upload_statements(
    request: Request, response: Response, tenant: CallerTenant, db: DatabaseDependency
) -> ImportView:
    _require_statement_media_type(request)
    with SpooledTemporaryFile(max_size=_SPOOLED_IN_MEMORY_BYTES) as body:
        await _spool(request, body)
        body.seek(0)
        try:
            report = await statement_import.import_statements(
                db, tenant, body, request.app.state.service.tolerance
            )
        except StatementRejected as rejected:
            raise ProblemError(
                422, rejected.slug, rejected.title, rejected.reason, rejected.problems
            ) from rejected
        except statement_import.StatementConflict as conflict:
            raise ProblemError(
                409, "statement-conflict", "Statement imported before", str(conflict)
            ) from conflict
    response.status_code = 201 if report.imported else 200
    return _import_view(report)


@router.get(
    "/payments/{payment_id}",
    summary="A payment, with what matching decided and why",
    responses={404: documented_problem("No such payment, or not yours")},
)
async def payment(payment_id: str, tenant: CallerTenant, db: DatabaseDependency) -> PaymentView:
    async with db.pool.acquire() as connection:
        store = StatementRepository(connection)
        record = await store.payment(tenant, payment_id)
        if record is None:
            raise ProblemError(404, "not-found", "No such payment", f"payment {payment_id}")
        return await _payment_view(store, tenant, record)


_REFUSAL_STATUS = {"unknown-invoice": 404, "invoice-closed": 409}


@router.post(
    "/payments/{payment_id}/match",
    summary="Match a payment from the work queue by hand",
    description=(
        "Applies the payment to the listed invoices (all of one customer): given amounts as "
        "given, the others filled earliest due first; what is left stays unapplied. The payer "
        "account is learned for the customer. The evidence keeps the note and who matched: the "
        "API key's holder where the key names one."
    ),
    responses={
        404: documented_problem("No such payment or invoice, or not yours"),
        409: documented_problem(
            "The payment is matched already or went back to the payer, or an invoice is closed"
        ),
        422: documented_problem("Currencies differ, or the allocations exceed what is there"),
    },
)
async def match_payment(
    payment_id: str, body: ManualMatchRequest, who: CallerIdentity, db: DatabaseDependency
) -> PaymentView:
    tenant = who.tenant
    requested = [Requested(a.invoice_id, a.amount) for a in body.allocations]
    async with db.transaction() as tx:
        try:
            await corrections.match_by_hand(
                tx, tenant, payment_id, requested, who.describe(), body.note
            )
        except corrections.PaymentNotFound as missing:
            raise ProblemError(404, "not-found", "No such payment", str(missing)) from missing
        except corrections.PaymentAlreadyMatched as matched:
            raise ProblemError(
                409, "already-matched", "Payment matched already", str(matched)
            ) from matched
        except corrections.PaymentReturnedToPayer as returned:
            raise ProblemError(
                409, "payment-returned", "Payment went back to the payer", str(returned)
            ) from returned
        except ManualMatchRefused as refused:
            status = _REFUSAL_STATUS.get(refused.kind, 422)
            raise ProblemError(status, refused.kind, "Match refused", refused.detail) from refused
        return await _payment_view_of(StatementRepository(tx.connection), tenant, payment_id)


@router.post(
    "/payments/{payment_id}/unmatch",
    summary="Take a wrong match off its invoices and put the payment back in the work queue",
    description=(
        "Reverses the payment's allocations; each invoice it paid is open again for what "
        "remains (settle.invoice.reopened.v1), and the payer account is no longer trusted for "
        "that customer. The reason, with who unmatched (the API key's holder where the key "
        "names one), goes with the requeued payment and the reopened invoices."
    ),
    responses={
        404: documented_problem("No such payment, or not yours"),
        409: documented_problem("The payment is not matched"),
    },
)
async def unmatch_payment(
    payment_id: str,
    body: UnmatchRequest,
    request: Request,
    who: CallerIdentity,
    db: DatabaseDependency,
) -> PaymentView:
    tenant = who.tenant
    async with db.transaction() as tx:
        try:
            await corrections.unmatch(
                tx,
                tenant,
                payment_id,
                who.describe(),
                body.reason,
                request.app.state.service.tolerance,
            )
        except corrections.PaymentNotFound as missing:
            raise ProblemError(404, "not-found", "No such payment", str(missing)) from missing
        except corrections.PaymentNotMatched as unmatched:
            raise ProblemError(
                409, "not-matched", "Payment not matched", str(unmatched)
            ) from unmatched
        return await _payment_view_of(StatementRepository(tx.connection), tenant, payment_id)


@router.get(
    "/unmatched",
    summary="The work queue: payments waiting for a person, oldest first",
    description=(
        "Narrowed, when asked, to payments of one amount (amount_minor with currency) and to "
        "payments whose payer name, payer account, remittance or end-to-end id contains a text, "
        "whatever its case: a customer on the phone says what they paid and how."
    ),
    responses={
        422: documented_problem(
            "amount_minor without currency or the other way round, or no currency in use"
        )
    },
)
async def unmatched(
    tenant: CallerTenant,
    db: DatabaseDependency,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: Annotated[int, Query(ge=0, description="next_after of the previous page")] = 0,
    amount_minor: Annotated[
        int | None, Query(ge=1, description="Only payments of this amount, in minor units")
    ] = None,
    currency: Annotated[
        str | None, Query(pattern=r"^[A-Z]{3}$", description="The currency of amount_minor")
    ] = None,
    containing: Annotated[
        str | None,
        Query(
            min_length=2,
            max_length=100,
            description="Only payments whose payer name, payer account, remittance or "
            "end-to-end id contains this text (case-insensitive)",
        ),
    ] = None,
) -> WorkQueueView:
    amount = _queue_amount(amount_minor, currency)
    async with db.pool.acquire() as connection:
        store = StatementRepository(connection)
        page = await store.unmatched(tenant, after, limit, amount, containing)
        items = [await _payment_view(store, tenant, record) for _, record in page]
    return WorkQueueView(items=items, next_after=page[-1][0] if len(page) == limit else None)


def _queue_amount(amount_minor: int | None, currency: str | None) -> Money | None:
    if amount_minor is None and currency is None:
        return None
    if amount_minor is None or currency is None:
        raise ProblemError(
            422,
            "incomplete-amount",
            "Give an amount with its currency",
            "amount_minor and currency go together",
        )
    try:
        return Money.of(amount_minor, currency)
    except ValidationError as invalid:
        detail = "; ".join(str(error["msg"]) for error in invalid.errors())
        raise ProblemError(422, "invalid-amount", "Invalid amount", detail) from invalid


def _require_statement_media_type(request: Request) -> None:
    declared = request.headers.get("content-type", "")
    media_type = declared.split(";", 1)[0].strip().lower()
    if media_type not in STATEMENT_MEDIA_TYPES:
        raise ProblemError(
            415,
            "unsupported-media-type",
            "Send the statement file as XML or text",
            f"Content-Type {declared or '(none)'}; expected {', '.join(STATEMENT_MEDIA_TYPES)}",
        )


async def _spool(request: Request, body: IO[bytes]) -> None:
    """Copy the body aside (to disk beyond a few MB), refusing more than the limit even when
    no Content-Length announced it."""
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > MAX_STATEMENT_BYTES:
            raise ProblemError(
                413,
                "payload-too-large",
                "Request body too large",
                f"more than {MAX_STATEMENT_BYTES} bytes; the limit is {MAX_STATEMENT_BYTES} bytes",
            )
        body.write(chunk)


def _import_view(report: statement_import.ImportReport) -> ImportView:
    statements = [
        StatementImportView(
            statement_id=item.statement_id,
            account=item.account,
            status=item.status,
            entries=item.entries,
            credits=item.counts["credit"],
            debits=item.counts["debit"],
            reversals=item.counts["reversal"],
            returned_to_this_account=item.counts["returned"],
            sent_back=item.counts["sent_back"],
            sent_back_unknown=item.counts["sent_back_unknown"],
            not_booked=item.counts["not_booked"],
            already_booked=item.counts["already_booked"],
            payments=item.counts["payments"],
            matched=item.counts["matched"],
            unmatched=item.counts["unmatched"],
        )
        for item in report.statements
    ]
    return ImportView(
        status="imported" if report.imported else "already_imported",
        statements=statements,
        entries=sum(s.entries for s in statements),
        payments=sum(s.payments for s in statements),
        matched=sum(s.matched for s in statements),
        unmatched=sum(s.unmatched for s in statements),
    )


async def _payment_view_of(store: StatementRepository, tenant: str, payment_id: str) -> PaymentView:
    record = await store.payment(tenant, payment_id)
    assert record is not None, "the payment was just corrected"
    return await _payment_view(store, tenant, record)


async def _payment_view(
    store: StatementRepository, tenant: str, record: PaymentRecord
) -> PaymentView:
    allocations = await store.allocations(tenant, record.payment_id)
    return PaymentView(
        payment_id=record.payment_id,
        source=record.source,
        status=record.status,
        amount=record.amount,
        booked_on=record.booked_on,
        value_date=record.value_date,
        payer_name=record.payer_name,
        payer_account=record.payer_account,
        remittance=record.remittance,
        structured_references=[ReferenceView(**reference) for reference in record.references],
        end_to_end_id=record.end_to_end_id,
        bank_reference=record.bank_reference,
        account=record.account,
        statement_id=record.statement_id,
        received_at=record.received_at,
        reason=record.reason,
        evidence=EvidenceView(**record.evidence),
        allocations=[
            AllocationView(
                invoice_id=a.invoice_id, invoice_number=a.invoice_number, amount=a.amount
            )
            for a in allocations
        ],
        suggestions=[SuggestionView(**suggestion) for suggestion in record.suggestions],
    )
