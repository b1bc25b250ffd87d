-- A statement is imported in chunks, each committed with the position it reached, so an import
-- cut short resumes after its last committed entry. Statements imported before were whole.
ALTER TABLE statements ADD COLUMN imported_through integer NOT NULL DEFAULT 0;
ALTER TABLE statements ADD COLUMN completed_at timestamptz;
UPDATE statements SET imported_through = entries, completed_at = imported_at;

-- Candidates by what stays open, as a chunk of payments looks them up (amount by amount).
CREATE INDEX open_items_open_balance ON open_items
    (tenant, currency, (amount_minor - paid_minor - credited_minor - written_off_minor))
    WHERE settled_at IS NULL;

-- Invoice numbers are looked up a chunk of payments at a time, by hundreds of serials: a GIN
-- pending list (fastupdate) would be scanned whole on every look-up.
ALTER INDEX open_items_serials SET (fastupdate = off);
