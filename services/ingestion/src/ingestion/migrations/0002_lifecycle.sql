-- The invoice lifecycle: payment terms are kept (and part of the content hash), invoices are
-- amended and cancelled, credit notes are stored, and HTTP idempotency keys keep their response.
-- Rows received before this migration have no payment terms: their terms were never kept, and
-- their content hash (computed without terms) stays valid for the same invoice sent without them.

ALTER TABLE invoices ADD COLUMN payment_terms text;
ALTER TABLE invoices ADD COLUMN cancel_reason text;
ALTER TABLE invoices DROP CONSTRAINT invoices_status_check;
ALTER TABLE invoices ADD CONSTRAINT invoices_status_check CHECK (status IN ('open', 'cancelled'));

CREATE TABLE credit_notes (
    tenant             text        NOT NULL,
    credit_note_id     text        NOT NULL,
    customer_id        text        NOT NULL,
    credit_note_number text        NOT NULL,
    invoice_id         text,
    issue_date         date        NOT NULL,
    amount_minor       bigint      NOT NULL CHECK (amount_minor > 0),
    currency           text        NOT NULL,
    reason             text,
    erp_updated_at     timestamptz NOT NULL,
    content_hash       text        NOT NULL,
    received_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant, credit_note_id)
);
CREATE INDEX credit_notes_invoice ON credit_notes (tenant, invoice_id) WHERE invoice_id IS NOT NULL;

-- One row per Idempotency-Key a tenant used, with the response it got, until it expires.
CREATE TABLE idempotency_keys (
    tenant       text        NOT NULL,
    key          text        NOT NULL,
    request_hash text        NOT NULL,
    status_code  integer     NOT NULL,
    response     jsonb       NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (tenant, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
