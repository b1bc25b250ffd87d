-- Invoice numbers are looked up by their last digit runs (see domain/remittance.serial_keys).
ALTER TABLE open_items ADD COLUMN serial_keys text[] NOT NULL DEFAULT '{}';
ALTER TABLE open_items ADD COLUMN issue_date date;
ALTER TABLE open_items ADD COLUMN credited_minor bigint NOT NULL DEFAULT 0;
ALTER TABLE open_items ADD COLUMN written_off_minor bigint NOT NULL DEFAULT 0;
ALTER TABLE open_items ADD COLUMN cancelled_at timestamptz;
CREATE INDEX open_items_serials ON open_items USING gin (serial_keys);
CREATE INDEX open_items_references ON open_items (tenant, reference_key);

-- Credit notes: linked ones reduce their invoice; the others are customer credit, netted
-- against invoices when a payment pays them less the credit.
CREATE TABLE credit_notes (
    tenant             text        NOT NULL,
    credit_note_id     text        NOT NULL,
    customer_id        text        NOT NULL,
    credit_note_number text        NOT NULL,
    invoice_id         text,
    currency           text        NOT NULL,
    amount_minor       bigint      NOT NULL,
    used_minor         bigint      NOT NULL DEFAULT 0,
    issue_date         date        NOT NULL,
    applied_at         timestamptz,
    received_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant, credit_note_id)
);
CREATE INDEX credit_notes_customer ON credit_notes (tenant, customer_id)
    WHERE invoice_id IS NULL AND used_minor < amount_minor;
CREATE INDEX credit_notes_pending ON credit_notes (tenant, invoice_id) WHERE applied_at IS NULL;

-- Payer accounts learned from confirmed matches (automatic ones named by reference or number,
-- and manual ones): which customers an account pays for, and how often it was confirmed.
CREATE TABLE payer_accounts (
    tenant        text        NOT NULL,
    account       text        NOT NULL,
    customer_id   text        NOT NULL,
    confirmations integer     NOT NULL,
    updated_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant, account, customer_id)
);

-- Allocations also net credit notes (kind 'credit'), and remember a write-off within tolerance.
ALTER TABLE allocations ADD COLUMN kind text NOT NULL DEFAULT 'invoice';
ALTER TABLE allocations ADD COLUMN written_off_minor bigint NOT NULL DEFAULT 0;
ALTER TABLE payments ADD COLUMN unapplied_minor bigint NOT NULL DEFAULT 0;

-- An invoice an unmatch re-opened after it had been settled, until the contract carries
-- settle.invoice.reopened.v1 (see the payments report): kept so nothing is lost.
CREATE TABLE reopened_invoices (
    tenant      text        NOT NULL,
    invoice_id  text        NOT NULL,
    payment_id  text        NOT NULL,
    open_minor  bigint      NOT NULL,
    currency    text        NOT NULL,
    reopened_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, invoice_id, payment_id)
);
