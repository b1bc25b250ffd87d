-- Customers as ingestion publishes them: names for payer suggestions.
CREATE TABLE customers (
    tenant      text        NOT NULL,
    customer_id text        NOT NULL,
    name        text        NOT NULL,
    name_key    text,
    revision    integer     NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant, customer_id)
);
CREATE INDEX customers_name_key ON customers (tenant, name_key);

-- Open items: every invoice issued, what has been paid against it, and whether it is settled.
CREATE TABLE open_items (
    tenant            text        NOT NULL,
    invoice_id        text        NOT NULL,
    customer_id       text        NOT NULL,
    invoice_number    text        NOT NULL,
    number_key        text        NOT NULL,
    payment_reference text,
    reference_key     text,
    currency          text        NOT NULL,
    amount_minor      bigint      NOT NULL,
    paid_minor        bigint      NOT NULL DEFAULT 0,
    due_date          date        NOT NULL,
    revision          integer     NOT NULL,
    settled_at        timestamptz,
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant, invoice_id)
);
CREATE INDEX open_items_number ON open_items (tenant, number_key) WHERE settled_at IS NULL;
CREATE INDEX open_items_reference ON open_items (tenant, reference_key) WHERE settled_at IS NULL;
CREATE INDEX open_items_open_amount
    ON open_items (tenant, currency, (amount_minor - paid_minor)) WHERE settled_at IS NULL;
CREATE INDEX open_items_customer ON open_items (tenant, customer_id) WHERE settled_at IS NULL;

-- Statements imported, with a fingerprint of their content to recognise a repeated upload.
CREATE TABLE statements (
    tenant              text        NOT NULL,
    account             text        NOT NULL,
    statement_id        text        NOT NULL,
    fingerprint         text        NOT NULL,
    version             text        NOT NULL,
    message_id          text,
    electronic_sequence bigint,
    created_at          text,
    currency            text,
    opening             jsonb,
    closing             jsonb,
    entries             integer     NOT NULL,
    imported_at         timestamptz NOT NULL,
    PRIMARY KEY (tenant, account, statement_id)
);

-- Every entry of every statement, as the bank reported it.
CREATE TABLE statement_entries (
    tenant                     text    NOT NULL,
    account                    text    NOT NULL,
    statement_id               text    NOT NULL,
    position                   integer NOT NULL,
    kind                       text    NOT NULL,
    entry_key                  text,
    first_report               boolean NOT NULL,
    status                     text    NOT NULL,
    direction                  text    NOT NULL,
    currency                   text    NOT NULL,
    amount_minor               bigint  NOT NULL,
    booking_date               date,
    value_date                 date,
    account_servicer_reference text,
    bank_transaction_code      text,
    additional_info            text,
    transactions               integer NOT NULL,
    PRIMARY KEY (tenant, account, statement_id, position)
);

-- Booked entries by identity: an entry an overlapping statement reports again is found here.
CREATE TABLE booked_entries (
    tenant       text    NOT NULL,
    account      text    NOT NULL,
    entry_key    text    NOT NULL,
    statement_id text    NOT NULL,
    position     integer NOT NULL,
    PRIMARY KEY (tenant, account, entry_key)
);

-- Payments received (one per credit transfer) and what matching decided for each.
CREATE TABLE payments (
    seq            bigserial   UNIQUE,
    tenant         text        NOT NULL,
    payment_id     text        NOT NULL,
    source         text        NOT NULL,
    account        text,
    statement_id   text,
    entry_key      text,
    currency       text        NOT NULL,
    amount_minor   bigint      NOT NULL,
    booked_on      date        NOT NULL,
    value_date     date,
    payer_name     text,
    payer_account  text,
    remittance     text[]      NOT NULL,
    "references"   jsonb       NOT NULL,
    end_to_end_id  text,
    bank_reference text,
    status         text        NOT NULL,
    reason         text,
    evidence       jsonb       NOT NULL,
    suggestions    jsonb       NOT NULL,
    received_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant, payment_id)
);
CREATE INDEX payments_unmatched ON payments (tenant, seq) WHERE status = 'unmatched';

-- What was applied to which invoice, from the bank or from the ERP.
CREATE TABLE allocations (
    seq          bigserial   UNIQUE,
    tenant       text        NOT NULL,
    source       text        NOT NULL,
    payment_id   text        NOT NULL,
    invoice_id   text        NOT NULL,
    currency     text        NOT NULL,
    amount_minor bigint      NOT NULL,
    allocated_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, source, payment_id, invoice_id)
);
CREATE INDEX allocations_invoice ON allocations (tenant, invoice_id);

-- Payments the ERP applied itself; kept until their invoice is known here.
CREATE TABLE erp_payments (
    tenant       text        NOT NULL,
    payment_id   text        NOT NULL,
    customer_id  text        NOT NULL,
    invoice_id   text        NOT NULL,
    currency     text        NOT NULL,
    amount_minor bigint      NOT NULL,
    paid_on      date        NOT NULL,
    recorded_at  timestamptz NOT NULL,
    applied_at   timestamptz,
    PRIMARY KEY (tenant, payment_id)
);
CREATE INDEX erp_payments_pending ON erp_payments (tenant, invoice_id) WHERE applied_at IS NULL;
