-- Invoices change after they are issued: amendments, cancellations, credit notes.

-- The revision each outcome reflects (older ones are stale), the invoice amount (unknown for
-- invoices recorded before this migration), and whether it was cancelled (final).
ALTER TABLE invoice_outcomes
    ADD COLUMN invoice_revision integer NOT NULL DEFAULT 1,
    ADD COLUMN currency         text,
    ADD COLUMN amount_minor     bigint,
    ADD COLUMN cancelled        boolean NOT NULL DEFAULT false;
ALTER TABLE invoice_outcomes ALTER COLUMN invoice_revision DROP DEFAULT;

-- Credit notes linked to an invoice, once each whatever replays do.
CREATE TABLE credit_notes (
    tenant         text   NOT NULL,
    credit_note_id text   NOT NULL,
    invoice_id     text   NOT NULL,
    currency       text   NOT NULL,
    amount_minor   bigint NOT NULL CHECK (amount_minor > 0),
    PRIMARY KEY (tenant, credit_note_id)
);
CREATE INDEX credit_notes_invoice ON credit_notes (tenant, invoice_id);
