-- What dunning knows of each customer: its profile (from enrichment) and segment (from
-- segmentation). Either may arrive first, so both halves are nullable.
CREATE TABLE customers (
    tenant             text        NOT NULL,
    customer_id        text        NOT NULL,
    name               text,
    language           text,
    time_zone          text,
    contacts           jsonb       NOT NULL DEFAULT '[]',
    preferred_channel  text,
    consented_channels text[]      NOT NULL DEFAULT '{}',
    postal_address     jsonb,
    profile_revision   integer,
    segment            text,
    segment_revision   integer,
    updated_at         timestamptz NOT NULL,
    PRIMARY KEY (tenant, customer_id)
);

-- One case per invoice. `seq` orders the case list for keyset paging.
CREATE TABLE cases (
    case_id           uuid        PRIMARY KEY,
    seq               bigserial   NOT NULL UNIQUE,
    tenant            text        NOT NULL,
    customer_id       text        NOT NULL,
    invoice_id        text        NOT NULL,
    invoice_number    text        NOT NULL,
    issue_date        date        NOT NULL,
    due_date          date        NOT NULL,
    currency          text        NOT NULL,
    amount_minor      bigint      NOT NULL,
    open_amount_minor bigint      NOT NULL,
    payment_reference text,
    policy            text        NOT NULL,
    status            text        NOT NULL CHECK (status IN ('open', 'closed')),
    close_reason      text,
    opened_at         timestamptz NOT NULL,
    closed_at         timestamptz,
    UNIQUE (tenant, invoice_id),
    CHECK ((status = 'closed') = (close_reason IS NOT NULL))
);
CREATE INDEX cases_open_by_customer ON cases (tenant, customer_id) WHERE status = 'open';
CREATE INDEX cases_by_tenant ON cases (tenant, seq);

-- Durable timers: one row per step scheduled. The scheduler claims due pending rows with
-- FOR UPDATE SKIP LOCKED; cancelled rows stay as history of reschedules.
CREATE TABLE timers (
    timer_id   bigserial   PRIMARY KEY,
    case_id    uuid        NOT NULL REFERENCES cases (case_id),
    step       integer     NOT NULL CHECK (step >= 1),
    step_name  text        NOT NULL,
    policy     text        NOT NULL,
    due_at     timestamptz NOT NULL,
    state      text        NOT NULL CHECK (state IN ('pending', 'fired', 'skipped', 'cancelled')),
    reason     text,
    attempts   integer     NOT NULL DEFAULT 0,
    last_error text,
    fired_at   timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE UNIQUE INDEX timers_one_pending_per_case ON timers (case_id) WHERE state = 'pending';
CREATE UNIQUE INDEX timers_one_outcome_per_step ON timers (case_id, step) WHERE state <> 'cancelled';
CREATE INDEX timers_due ON timers (due_at) WHERE state = 'pending';
CREATE INDEX timers_by_case ON timers (case_id, timer_id);

-- Reminders requested: at most one per case and step, whatever replays or replicas do.
CREATE TABLE actions (
    action_id           uuid        PRIMARY KEY,
    case_id             uuid        NOT NULL REFERENCES cases (case_id),
    tenant              text        NOT NULL,
    customer_id         text        NOT NULL,
    step                integer     NOT NULL,
    step_name           text        NOT NULL,
    template            text        NOT NULL,
    channel             text        NOT NULL,
    language            text        NOT NULL,
    recipient           jsonb       NOT NULL,
    currency            text        NOT NULL,
    amount_due_minor    bigint      NOT NULL,
    requested_at        timestamptz NOT NULL,
    delivery_status     text,
    delivery_provider   text,
    delivery_detail     text,
    delivery_changed_at timestamptz,
    UNIQUE (case_id, step)
);

-- What payments said about an invoice, kept even before its case exists: payments.v1 and
-- invoices.v1 are separate topics, so a settlement can overtake the invoice it settles.
CREATE TABLE invoice_payments (
    tenant            text        NOT NULL,
    invoice_id        text        NOT NULL,
    currency          text        NOT NULL,
    open_amount_minor bigint      NOT NULL,
    settled_at        timestamptz,
    paid_at           timestamptz NOT NULL,
    PRIMARY KEY (tenant, invoice_id)
);
