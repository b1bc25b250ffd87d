-- Invoices change after they are issued: amendments, cancellations, credit notes.

-- The invoice revision a case reflects (amendments not newer than it are stale), and the linked
-- credit notes counted in its open amount. Cases so far were opened from revision 1.
ALTER TABLE cases
    ADD COLUMN invoice_revision integer NOT NULL DEFAULT 1 CHECK (invoice_revision >= 1),
    ADD COLUMN credited_minor   bigint  NOT NULL DEFAULT 0 CHECK (credited_minor >= 0);
ALTER TABLE cases ALTER COLUMN invoice_revision DROP DEFAULT;

-- What payments says was paid in total, beside the open amount it leaves. Until now payments'
-- open amount was always the invoice amount less what was paid; rows whose invoice has no case
-- here yet (a payment overtook its invoice moments ago) keep 0 and rely on the open amount.
ALTER TABLE invoice_payments ADD COLUMN paid_minor bigint NOT NULL DEFAULT 0;
UPDATE invoice_payments p SET paid_minor = c.amount_minor - p.open_amount_minor
FROM cases c
WHERE c.tenant = p.tenant AND c.invoice_id = p.invoice_id AND p.settled_at IS NULL;

-- Linked credit notes, once each whatever replays do, kept even before the invoice's case exists.
CREATE TABLE credit_notes (
    tenant         text        NOT NULL,
    credit_note_id text        NOT NULL,
    invoice_id     text        NOT NULL,
    currency       text        NOT NULL,
    amount_minor   bigint      NOT NULL CHECK (amount_minor > 0),
    issue_date     date        NOT NULL,
    recorded_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant, credit_note_id)
);
CREATE INDEX credit_notes_by_invoice ON credit_notes (tenant, invoice_id);

-- Cancelled invoices, with or without a case: a cancellation is final, and no case may open for
-- the invoice afterwards, whatever is replayed.
CREATE TABLE invoice_cancellations (
    tenant       text        NOT NULL,
    invoice_id   text        NOT NULL,
    revision     integer     NOT NULL,
    reason       text,
    cancelled_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, invoice_id)
);
