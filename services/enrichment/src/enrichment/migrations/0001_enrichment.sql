-- One row per customer: its master data, assessment and limit as last stored; `revision` is the
-- revision of the last CustomerEnriched announced for it.
CREATE TABLE customer_profiles (
    tenant                text        NOT NULL,
    customer_id           text        NOT NULL,
    master                jsonb       NOT NULL,
    master_revision       integer     NOT NULL,
    credit                jsonb       NOT NULL,
    manual_limit_minor    bigint,
    manual_limit_currency text,
    revision              integer     NOT NULL,
    enriched_at           timestamptz NOT NULL,
    PRIMARY KEY (tenant, customer_id),
    CHECK ((manual_limit_minor IS NULL) = (manual_limit_currency IS NULL))
);

-- What the bureau answered per company (found or not found), reused while younger than
-- BUREAU_CACHE_HOURS.
CREATE TABLE bureau_reports (
    tenant              text        NOT NULL,
    country             text        NOT NULL,
    registration_number text        NOT NULL,
    assessment          jsonb       NOT NULL,
    fetched_at          timestamptz NOT NULL,
    PRIMARY KEY (tenant, country, registration_number)
);

-- Invoices as exposure sees them. A row may start from payment news (amount still unknown).
CREATE TABLE open_items (
    tenant           text    NOT NULL,
    invoice_id       text    NOT NULL,
    customer_id      text    NOT NULL,
    recorded         bigserial,
    currency         text    NOT NULL,
    amount_minor     bigint,
    invoice_revision integer,
    remaining_minor  bigint,
    settled          boolean NOT NULL DEFAULT false,
    PRIMARY KEY (tenant, invoice_id)
);
CREATE INDEX open_items_customer ON open_items (tenant, customer_id, recorded);

-- Whether a customer is above its limit now, so an alert is raised once per crossing.
CREATE TABLE credit_watch (
    tenant      text        NOT NULL,
    customer_id text        NOT NULL,
    over_limit  boolean     NOT NULL,
    changed_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant, customer_id)
);
