"""Which topics payments reads, and which handler each event type goes to."""

from __future__ import annotations

import binascii
from base64 import b64decode
from collections.abc import Awaitable, Callable
from io import BytesIO

from payments import handlers, statement_import
from payments.domain.matching import Tolerance
from payments.domain.statement import StatementRejected
from settle_shared.consumer import ConsumerSpec, Received
from settle_shared.db import Database, Transaction
from settle_shared.errors import InvalidMessage
from settle_shared.events.erp import ErpBankStatementReceived, ErpPaymentRecorded
from settle_shared.events.ingestion import (
    CreditNoteIssued,
    CustomerUpserted,
    InvoiceAmended,
    InvoiceCancelled,
    InvoiceIssued,
)
from settle_shared.events.topics import CUSTOMERS, ERP_PAYMENTS, INVOICES, PAYMENTS_DEAD_LETTER


def consumers(db: Database, tolerance: Tolerance) -> list[ConsumerSpec]:
    return [
        ConsumerSpec(
            name="payments",
            topics=(INVOICES.name, CUSTOMERS.name, ERP_PAYMENTS.name),
            handlers={
                InvoiceIssued: db.idempotent(handlers.invoice_issued),
                InvoiceAmended: db.idempotent(handlers.invoice_amended),
                InvoiceCancelled: db.idempotent(handlers.invoice_cancelled),
                CreditNoteIssued: db.idempotent(handlers.credit_note_issued),
                CustomerUpserted: db.idempotent(handlers.customer_upserted),
                ErpPaymentRecorded: db.idempotent(handlers.erp_payment_recorded),
                ErpBankStatementReceived: db.idempotent(statement_file_received(db, tolerance)),
            },
            dead_letter_topic=PAYMENTS_DEAD_LETTER.name,
        )
    ]


def statement_file_received(
    db: Database, tolerance: Tolerance
) -> Callable[[Transaction, Received[ErpBankStatementReceived]], Awaitable[None]]:
    """Imports a forwarded bank statement file exactly as an HTTP upload does."""

    async def import_file(_: Transaction, received: Received[ErpBankStatementReceived]) -> None:
        event = received.payload
        file = BytesIO(_decoded(event))
        # The import checks the whole file before writing and commits in its own transactions
        # (resumable per statement); statement fingerprints make a resent file_id a no-op.
        try:
            await statement_import.import_statements(db, event.tenant, file, tolerance)
        except StatementRejected as rejected:
            raise InvalidMessage(
                f"bank statement file {event.file_id}: {rejected.reason}", rejected.problems
            ) from rejected
        except statement_import.StatementConflict as conflict:
            raise InvalidMessage(f"bank statement file {event.file_id}: {conflict}") from conflict

    return import_file


def _decoded(event: ErpBankStatementReceived) -> bytes:
    try:
        return b64decode(event.content_base64, validate=True)
    except binascii.Error as error:
        raise InvalidMessage(
            f"bank statement file {event.file_id}: content_base64 is not base64 ({error})"
        ) from error
