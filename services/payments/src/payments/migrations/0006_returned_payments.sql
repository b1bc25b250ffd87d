-- A debit that sends a payment back to the payer (a reversed booking, a refunded direct debit)
-- names it by the end-to-end id it carried, on the account it was booked on.
CREATE INDEX payments_end_to_end ON payments (tenant, account, end_to_end_id)
    WHERE end_to_end_id IS NOT NULL;
