-- Invoices change after they are issued: amendments, cancellations, credit notes.

-- What payments says was paid in total, beside its open amount (`remaining_minor`); whether the
-- invoice was cancelled (final: nothing is owed on it). Until now payments' open amount was always
-- the invoice amount less what was paid.
ALTER TABLE open_items
    ADD COLUMN paid_minor bigint,
    ADD COLUMN cancelled  boolean NOT NULL DEFAULT false;
UPDATE open_items SET paid_minor = amount_minor - remaining_minor
WHERE amount_minor IS NOT NULL AND remaining_minor IS NOT NULL;

-- Credit notes linked to an invoice, once each whatever replays do, kept even before the invoice.
CREATE TABLE credit_notes (
    tenant         text   NOT NULL,
    credit_note_id text   NOT NULL,
    customer_id    text   NOT NULL,
    invoice_id     text   NOT NULL,
    currency       text   NOT NULL,
    amount_minor   bigint NOT NULL CHECK (amount_minor > 0),
    PRIMARY KEY (tenant, credit_note_id)
);
CREATE INDEX credit_notes_customer ON credit_notes (tenant, customer_id);
