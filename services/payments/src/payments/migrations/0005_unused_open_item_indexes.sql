-- Indexes no query uses any more, each kept up to date on every payment applied to an invoice:
-- - open_items_number: invoice numbers are looked up by their serial keys (open_items_serials);
-- - open_items_open_amount: candidates are looked up by what stays open after credits and
--   write-offs too (open_items_open_balance);
-- - open_items_reference: references are looked up among settled items too, to recognise a
--   payment made twice (open_items_references).
DROP INDEX open_items_number;
DROP INDEX open_items_open_amount;
DROP INDEX open_items_reference;
