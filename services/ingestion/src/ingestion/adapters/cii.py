"""UN/CEFACT Cross Industry Invoice (CII D16B, EN 16931) as ERP records.

Type code 381 is a credit note; 380, 383, 384, 389 and 751 are invoices. The document id
(BT-1) is the invoice's id and number; the buyer is identified by `ram:ID` (BT-46), else its
global id, legal organisation or tax registration; the due date is the payment terms' due date
(BT-9), the amount the due payable amount (BT-115) in the invoice currency (BT-5), the payment
reference `ram:PaymentReference` (BT-83), short payment terms (BT-20) the terms code. A credit
note credits the invoice of `ram:InvoiceReferencedDocument` (BT-25). Like UBL, a CII document has
no version stamp: it is stamped with the time of import.
"""

from __future__ import annotations

from datetime import datetime
from typing import IO

from ingestion.adapters.einvoice import HeaderReader, read_header
from ingestion.adapters.files import FileRecord, UnreadableFile, validated
from ingestion.domain.invoices import LONGEST_PAYMENT_TERMS
from settle_shared.errors import Problem
from settle_shared.events.erp import ErpCreditNoteIssued, ErpInvoiceIssued

NAMESPACES = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
}
ROOT = f"{{{NAMESPACES['rsm']}}}CrossIndustryInvoice"
INVOICE_TYPES = frozenset({"380", "383", "384", "389", "751"})
CREDIT_NOTE_TYPE = "381"
_LINES = (f"{{{NAMESPACES['ram']}}}IncludedSupplyChainTradeLineItem",)
_DOCUMENT = "rsm:ExchangedDocument/"
_TRADE = "rsm:SupplyChainTradeTransaction/"
_SETTLEMENT = f"{_TRADE}ram:ApplicableHeaderTradeSettlement/"
_BUYER = f"{_TRADE}ram:ApplicableHeaderTradeAgreement/ram:BuyerTradeParty/"
_BUYER_IDS = (
    f"{_BUYER}ram:ID",
    f"{_BUYER}ram:GlobalID",
    f"{_BUYER}ram:SpecifiedLegalOrganization/ram:ID",
    f"{_BUYER}ram:SpecifiedTaxRegistration/ram:ID",
)
_DATE_102 = "%Y%m%d"


def read_cii(source: IO[bytes], tenant: str, imported_at: datetime) -> list[FileRecord]:
    root = read_header(source, _LINES)
    if root.tag != ROOT:
        raise UnreadableFile(
            "not a UN/CEFACT CrossIndustryInvoice",
            [Problem("/", f"the root element is {root.tag!s}")],
        )
    header = HeaderReader(root, NAMESPACES, "rsm:CrossIndustryInvoice")
    type_code = header.text("type_code", f"{_DOCUMENT}ram:TypeCode")
    document_id = header.text("document_id", f"{_DOCUMENT}ram:ID")
    currency = header.text("currency", f"{_SETTLEMENT}ram:InvoiceCurrencyCode")
    amount_text = header.text(
        "amount",
        f"{_SETTLEMENT}ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:DuePayableAmount",
    )
    common = {
        "tenant": tenant,
        "customer_id": header.text("customer_id", *_BUYER_IDS),
        "issue_date": header.date(
            "issue_date",
            header.text("issue_date", f"{_DOCUMENT}ram:IssueDateTime/udt:DateTimeString"),
            _DATE_102,
        ),
        "amount": header.amount("amount", amount_text, currency),
        "updated_at": imported_at,
    }
    header.fields["/amount/currency"] = header.fields["/currency"]
    location = f"/rsm:CrossIndustryInvoice[ram:ID={document_id}]"
    if type_code == CREDIT_NOTE_TYPE:
        linked = header.text(
            "invoice_id",
            f"{_SETTLEMENT}ram:InvoiceReferencedDocument/ram:IssuerAssignedID",
            required=False,
        )
        data = {
            **common,
            "credit_note_id": document_id,
            "credit_note_number": document_id,
            "invoice_id": linked,
        }
        header.fields["/credit_note_id"] = header.fields["/document_id"]
        return [
            validated(
                ErpCreditNoteIssued.model_validate, data, location, header.fields, header.problems
            )
        ]
    if type_code is not None and type_code not in INVOICE_TYPES:
        header.problems.append(
            Problem(
                header.fields["/type_code"],
                f"type code {type_code} is neither an invoice nor a credit note",
            )
        )
    terms = header.text(
        "payment_terms",
        f"{_SETTLEMENT}ram:SpecifiedTradePaymentTerms/ram:Description",
        required=False,
    )
    data = {
        **common,
        "invoice_id": document_id,
        "invoice_number": document_id,
        "due_date": header.date(
            "due_date",
            header.text(
                "due_date",
                f"{_SETTLEMENT}ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString",
            ),
            _DATE_102,
        ),
        "payment_reference": header.text(
            "payment_reference", f"{_SETTLEMENT}ram:PaymentReference", required=False
        ),
        "payment_terms": terms
        if terms is not None and len(terms) <= LONGEST_PAYMENT_TERMS
        else None,
    }
    header.fields["/invoice_id"] = header.fields["/document_id"]
    return [
        validated(ErpInvoiceIssued.model_validate, data, location, header.fields, header.problems)
    ]
