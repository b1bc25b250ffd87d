-- A person can take a payment off an invoice again (payments' InvoiceReopened): what it left open
-- counts in the customer's exposure again. When payments last spoke of the invoice orders a
-- reopening against the settlements and payments it follows or precedes.
ALTER TABLE open_items ADD COLUMN payments_at timestamptz;
