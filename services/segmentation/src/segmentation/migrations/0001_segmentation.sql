CREATE TABLE customer_profiles (
    tenant            text        NOT NULL,
    customer_id       text        NOT NULL,
    strategic_account boolean     NOT NULL,
    bureau_score      integer,
    bureau_rating     text,
    profile_revision  integer     NOT NULL,
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (tenant, customer_id)
);

CREATE TABLE invoice_outcomes (
    tenant      text NOT NULL,
    customer_id text NOT NULL,
    invoice_id  text NOT NULL,
    due_date    date NOT NULL,
    settled_on  date,
    PRIMARY KEY (tenant, invoice_id)
);
CREATE INDEX invoice_outcomes_customer ON invoice_outcomes (tenant, customer_id);

CREATE TABLE segment_assignments (
    tenant      text        NOT NULL,
    customer_id text        NOT NULL,
    segment     text        NOT NULL,
    rule        text        NOT NULL,
    reasons     jsonb       NOT NULL,
    revision    integer     NOT NULL,
    decided_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant, customer_id)
);

CREATE TABLE segment_history (
    id          bigserial PRIMARY KEY,
    tenant      text        NOT NULL,
    customer_id text        NOT NULL,
    segment     text        NOT NULL,
    previous    text,
    rule        text        NOT NULL,
    reasons     jsonb       NOT NULL,
    decided_at  timestamptz NOT NULL
);
CREATE INDEX segment_history_customer ON segment_history (tenant, customer_id, id);
