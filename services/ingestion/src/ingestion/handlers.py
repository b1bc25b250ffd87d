"""Use cases: accept a customer version or an invoice from the ERP, store it, and announce each
real change exactly once. The topic consumers and the HTTP routes share them."""

from __future__ import annotations

import logging

from ingestion.adapters.repository import IngestionRepository, StoredCustomer, StoredInvoice
from ingestion.domain.customers import CustomerChange, CustomerVersion, compare, customer_problems
from ingestion.domain.invoices import (
    InvoiceContent,
    InvoiceIssueOutcome,
    InvoiceReissued,
    differences,
    invoice_problems,
)
from settle_shared.consumer import Received
from settle_shared.db import Transaction
from settle_shared.errors import InvalidMessage, Problem
from settle_shared.events.erp import ErpCustomerUpserted, ErpInvoiceIssued
from settle_shared.events.ingestion import CustomerUpserted, InvoiceIssued

log = logging.getLogger(__name__)


async def customer_upserted(tx: Transaction, received: Received[ErpCustomerUpserted]) -> None:
    await upsert_customer(tx, received.payload)


async def invoice_issued(tx: Transaction, received: Received[ErpInvoiceIssued]) -> None:
    await issue_invoice(tx, received.payload)


async def upsert_customer(tx: Transaction, customer: ErpCustomerUpserted) -> CustomerChange:
    """Store a newer, different version as the next revision; ignore stale and identical ones."""
    _reject_if_any(customer_problems(customer, tx.clock.now()), f"customer {customer.customer_id}")
    repository = IngestionRepository(tx.connection)
    await repository.lock_customer(customer.tenant, customer.customer_id)
    stored = await repository.customer(customer.tenant, customer.customer_id)
    incoming = CustomerVersion.of(customer)
    if stored is None:
        await _accept_customer(tx, repository, customer, incoming, revision=1)
        return CustomerChange.CREATED
    change = compare(stored.version, incoming)
    if change is CustomerChange.STALE:
        log.info(
            "stale customer version ignored",
            extra={
                "tenant": customer.tenant,
                "customer_id": customer.customer_id,
                "updated_at": customer.updated_at.isoformat(),
                "stored_updated_at": stored.version.updated_at.isoformat(),
            },
        )
    elif change is CustomerChange.UNCHANGED:
        await repository.advance_erp_updated_at(
            customer.tenant, customer.customer_id, customer.updated_at
        )
    else:
        await _accept_customer(tx, repository, customer, incoming, stored.revision + 1)
    return change


async def _accept_customer(
    tx: Transaction,
    repository: IngestionRepository,
    customer: ErpCustomerUpserted,
    version: CustomerVersion,
    revision: int,
) -> None:
    now = tx.clock.now()
    await repository.save_customer(
        StoredCustomer(
            tenant=customer.tenant,
            customer_id=customer.customer_id,
            master=customer.master,
            version=version,
            revision=revision,
            received_at=now,
        )
    )
    await tx.publish(
        CustomerUpserted(
            tenant=customer.tenant,
            customer_id=customer.customer_id,
            master=customer.master,
            revision=revision,
            updated_at=customer.updated_at,
            received_at=now,
        )
    )


async def issue_invoice(tx: Transaction, invoice: ErpInvoiceIssued) -> InvoiceIssueOutcome:
    """Store and announce a first issue; accept an identical one again; refuse a different one."""
    now = tx.clock.now()
    _reject_if_any(invoice_problems(invoice, now), f"invoice {invoice.invoice_id}")
    repository = IngestionRepository(tx.connection)
    content = InvoiceContent.of(invoice)
    customer_known = await repository.customer_known(invoice.tenant, invoice.customer_id)
    first_issue = StoredInvoice(
        tenant=invoice.tenant,
        invoice_id=invoice.invoice_id,
        content=content,
        erp_updated_at=invoice.updated_at,
        revision=1,
        content_hash=content.fingerprint(),
        status="open",
        received_before_customer=not customer_known,
        received_at=now,
    )
    if await repository.add_invoice(first_issue):
        await _announce_invoice(tx, invoice, first_issue)
        return InvoiceIssueOutcome.ISSUED
    issued = await repository.invoice(invoice.tenant, invoice.invoice_id)
    assert issued is not None, "add_invoice found the invoice already issued"
    if issued.content_hash != first_issue.content_hash:
        raise InvoiceReissued(invoice.invoice_id, differences(issued.content, content))
    return InvoiceIssueOutcome.DUPLICATE


async def _announce_invoice(
    tx: Transaction, invoice: ErpInvoiceIssued, stored: StoredInvoice
) -> None:
    if stored.received_before_customer:
        log.info(
            "invoice accepted before its customer",
            extra={
                "tenant": invoice.tenant,
                "invoice_id": invoice.invoice_id,
                "customer_id": invoice.customer_id,
            },
        )
    await tx.publish(
        InvoiceIssued(
            tenant=invoice.tenant,
            customer_id=invoice.customer_id,
            invoice_id=invoice.invoice_id,
            invoice_number=invoice.invoice_number,
            issue_date=invoice.issue_date,
            due_date=invoice.due_date,
            amount=invoice.amount,
            payment_reference=invoice.payment_reference,
            payment_terms=invoice.payment_terms,
            revision=stored.revision,
            received_at=stored.received_at,
        )
    )


def _reject_if_any(problems: list[Problem], what: str) -> None:
    if problems:
        raise InvalidMessage(f"{what} breaks {len(problems)} rule(s)", problems)
