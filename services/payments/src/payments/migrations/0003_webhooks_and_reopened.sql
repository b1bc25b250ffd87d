-- Webhooks from payment service providers, one row per provider event: a redelivery answers
-- with what the first delivery decided and credits nothing.
CREATE TABLE psp_webhooks (
    tenant      text        NOT NULL,
    provider    text        NOT NULL,
    event_id    text        NOT NULL,
    payment_id  text        NOT NULL,
    status      text        NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, provider, event_id)
);

-- Re-opened invoices travel as settle.invoice.reopened.v1 now (through the outbox): the
-- stop-gap table that kept them was never written to.
DROP TABLE reopened_invoices;
