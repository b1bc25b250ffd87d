-- The relay now deletes the rows it has published (Kafka keeps the events). Marking them with
-- published_at wrote a second version of every row with new entries in four indexes, about three
-- times the cost of the delete, and the marked rows then had to be pruned.
-- published_at stays for one release, so a relay of the previous release still running during a
-- rolling upgrade keeps working; a later migration drops it.
DELETE FROM outbox WHERE published_at IS NOT NULL;
DROP INDEX outbox_published_at;
DROP INDEX outbox_unpublished;
