-- A case that closed because its invoice was paid opens again when a person takes that payment
-- off the invoice. Dunning asks for no reminder while a case is closed, so a reminder requested
-- after the case's latest closure belongs to the reopened case and goes out; the ones requested
-- before it are still cancelled. Both times come from dunning's clock.
ALTER TABLE messages ADD COLUMN requested_at timestamptz;
