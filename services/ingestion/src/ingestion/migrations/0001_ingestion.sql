-- Customers and invoices as received from the ERPs, one row per (tenant, id).
-- erp_updated_at is the ERP's own timestamp; received_at is when Settle accepted the revision.

CREATE TABLE customers (
    tenant         text        NOT NULL,
    customer_id    text        NOT NULL,
    master         jsonb       NOT NULL,
    erp_updated_at timestamptz NOT NULL,
    revision       integer     NOT NULL CHECK (revision >= 1),
    content_hash   text        NOT NULL,
    received_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant, customer_id)
);

CREATE TABLE invoices (
    tenant                   text        NOT NULL,
    invoice_id               text        NOT NULL,
    customer_id              text        NOT NULL,
    invoice_number           text        NOT NULL,
    issue_date               date        NOT NULL,
    due_date                 date        NOT NULL,
    amount_minor             bigint      NOT NULL CHECK (amount_minor > 0),
    currency                 text        NOT NULL,
    payment_reference        text,
    erp_updated_at           timestamptz NOT NULL,
    revision                 integer     NOT NULL CHECK (revision >= 1),
    content_hash             text        NOT NULL,
    status                   text        NOT NULL CHECK (status IN ('open')),
    received_before_customer boolean     NOT NULL,
    received_at              timestamptz NOT NULL,
    PRIMARY KEY (tenant, invoice_id),
    CHECK (due_date >= issue_date)
);
CREATE INDEX invoices_customer ON invoices (tenant, customer_id);
