-- A message still queued (first attempt or waiting to retry) when its dunning case closes is
-- cancelled, never sent. Closures are remembered because a case can close before the reminder
-- it requested reaches delivery (dunning.cases.v1 and dunning.actions.v1 are separate topics).
ALTER TABLE messages DROP CONSTRAINT messages_status_check;
ALTER TABLE messages ADD CONSTRAINT messages_status_check
    CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'unknown', 'cancelled'));

CREATE TABLE closed_cases (
    tenant    text        NOT NULL,
    case_id   text        NOT NULL,
    reason    text        NOT NULL,
    closed_at timestamptz NOT NULL,
    PRIMARY KEY (tenant, case_id)
);
