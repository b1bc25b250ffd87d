-- One row per requested reminder (one per action), rendered when it arrives, then sent by the
-- dispatcher: queued -> sending -> sent | failed | unknown, back to queued on a transient failure.
CREATE TABLE messages (
    message_id          uuid        PRIMARY KEY,
    tenant              text        NOT NULL,
    customer_id         text        NOT NULL,
    action_id           text        NOT NULL,
    case_id             text        NOT NULL,
    invoice_id          text        NOT NULL,
    channel             text        NOT NULL,
    template            text        NOT NULL,
    requested_language  text        NOT NULL,
    language            text        NOT NULL,
    recipient           jsonb       NOT NULL,
    subject             text        NOT NULL,
    body_text           text        NOT NULL,
    body_html           text        NOT NULL,
    status              text        NOT NULL
        CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'unknown')),
    attempts            integer     NOT NULL DEFAULT 0,
    next_attempt_at     timestamptz,
    lease_expires_at    timestamptz,
    provider            text,
    provider_message_id text,
    detail              text,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    -- At most one message per requested action, whatever the redelivery.
    CONSTRAINT messages_one_per_action UNIQUE (tenant, action_id)
);
CREATE INDEX messages_due ON messages (next_attempt_at) WHERE status = 'queued';
CREATE INDEX messages_leased ON messages (lease_expires_at) WHERE status = 'sending';
CREATE INDEX messages_case ON messages (tenant, case_id);

-- Every attempt to hand a message to its provider, including ones a crash cut short.
CREATE TABLE attempts (
    message_id  uuid        NOT NULL REFERENCES messages (message_id),
    attempt     integer     NOT NULL,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    outcome     text        NOT NULL
        CHECK (outcome IN ('sending', 'sent', 'transient', 'permanent', 'ambiguous', 'lease_expired')),
    detail      text,
    PRIMARY KEY (message_id, attempt)
);
