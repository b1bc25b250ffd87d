"""UBL 2.1 Invoice and CreditNote (EN 16931, Peppol BIS Billing 3.0) as ERP records.

An invoice's id is its `cbc:ID` (BT-1), which is also its number. The customer is the buyer's
identifier: `cac:PartyIdentification/cbc:ID` (BT-46), else its legal registration (BT-47), VAT
number (BT-48) or electronic address (BT-49), the first present. The due date is `cbc:DueDate`
(BT-9) or the payment means' `cbc:PaymentDueDate`; the amount is the payable amount (BT-115) in the
document currency (BT-5); the payment reference is `cbc:PaymentID` (BT-83); short payment terms
(BT-20, up to 64 characters) become the terms code. A credit note credits the invoice of its
`cac:BillingReference` (BT-25), when it names one. An e-invoice has no version stamp: it is
stamped with the time of import, so a corrected document sent later amends the invoice, and the
same document sent again is a duplicate.
"""

from __future__ import annotations

from datetime import datetime
from typing import IO

from ingestion.adapters.einvoice import HeaderReader, read_header
from ingestion.adapters.files import FileRecord, UnreadableFile, validated
from ingestion.domain.invoices import LONGEST_PAYMENT_TERMS
from settle_shared.errors import Problem
from settle_shared.events.erp import ErpCreditNoteIssued, ErpInvoiceIssued

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NAMESPACES = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
_LINES = (f"{{{INVOICE_NS}}}InvoiceLine", f"{{{CREDIT_NOTE_NS}}}CreditNoteLine")
_BUYER = "cac:AccountingCustomerParty/cac:Party/"
_BUYER_IDS = (
    f"{_BUYER}cac:PartyIdentification/cbc:ID",
    f"{_BUYER}cac:PartyLegalEntity/cbc:CompanyID",
    f"{_BUYER}cac:PartyTaxScheme/cbc:CompanyID",
    f"{_BUYER}cbc:EndpointID",
)


def read_ubl(source: IO[bytes], tenant: str, imported_at: datetime) -> list[FileRecord]:
    root = read_header(source, _LINES)
    if root.tag == f"{{{INVOICE_NS}}}Invoice":
        return [_invoice(HeaderReader(root, NAMESPACES, "Invoice"), tenant, imported_at)]
    if root.tag == f"{{{CREDIT_NOTE_NS}}}CreditNote":
        return [_credit_note(HeaderReader(root, NAMESPACES, "CreditNote"), tenant, imported_at)]
    raise UnreadableFile(
        "not a UBL 2.1 Invoice or CreditNote",
        [Problem("/", f"the root element is {root.tag!s}")],
    )


def _invoice(header: HeaderReader, tenant: str, imported_at: datetime) -> FileRecord:
    invoice_id = header.text("invoice_id", "cbc:ID")
    currency = header.text("currency", "cbc:DocumentCurrencyCode")
    amount_text = header.text("amount", "cac:LegalMonetaryTotal/cbc:PayableAmount")
    data = {
        "tenant": tenant,
        "customer_id": header.text("customer_id", *_BUYER_IDS),
        "invoice_id": invoice_id,
        "invoice_number": invoice_id,
        "issue_date": header.date("issue_date", header.text("issue_date", "cbc:IssueDate")),
        "due_date": header.date(
            "due_date",
            header.text("due_date", "cbc:DueDate", "cac:PaymentMeans/cbc:PaymentDueDate"),
        ),
        "amount": header.amount("amount", amount_text, currency),
        "payment_reference": header.text(
            "payment_reference", "cac:PaymentMeans/cbc:PaymentID", required=False
        ),
        "payment_terms": _terms(
            header.text("payment_terms", "cac:PaymentTerms/cbc:Note", required=False)
        ),
        "updated_at": imported_at,
    }
    _same_currency(header, currency)
    return validated(
        ErpInvoiceIssued.model_validate,
        data,
        f"/Invoice[cbc:ID={invoice_id}]",
        header.fields,
        header.problems,
    )


def _credit_note(header: HeaderReader, tenant: str, imported_at: datetime) -> FileRecord:
    note_id = header.text("credit_note_id", "cbc:ID")
    currency = header.text("currency", "cbc:DocumentCurrencyCode")
    amount_text = header.text("amount", "cac:LegalMonetaryTotal/cbc:PayableAmount")
    data = {
        "tenant": tenant,
        "customer_id": header.text("customer_id", *_BUYER_IDS),
        "credit_note_id": note_id,
        "credit_note_number": note_id,
        "invoice_id": header.text(
            "invoice_id",
            "cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID",
            required=False,
        ),
        "issue_date": header.date("issue_date", header.text("issue_date", "cbc:IssueDate")),
        "amount": header.amount("amount", amount_text, currency),
        "updated_at": imported_at,
    }
    _same_currency(header, currency)
    return validated(
        ErpCreditNoteIssued.model_validate,
        data,
        f"/CreditNote[cbc:ID={note_id}]",
        header.fields,
        header.problems,
    )


def _same_currency(header: HeaderReader, currency: str | None) -> None:
    header.fields["/amount/currency"] = header.fields["/currency"]
    stated = header.attribute("cac:LegalMonetaryTotal/cbc:PayableAmount", "currencyID")
    if currency is not None and stated is not None and stated != currency:
        header.problems.append(
            Problem(
                header.fields["/amount"],
                f"the payable amount is in {stated}, the document in {currency}",
            )
        )


def _terms(note: str | None) -> str | None:
    return note if note is not None and len(note) <= LONGEST_PAYMENT_TERMS else None
