-- A person can take a payment off an invoice again (payments' InvoiceReopened): the invoice is
-- open once more and stops counting as paid. When each settlement and reopening happened orders
-- them, so news older than what is recorded changes nothing.
ALTER TABLE invoice_outcomes
    ADD COLUMN settled_at  timestamptz,
    ADD COLUMN reopened_at timestamptz;
