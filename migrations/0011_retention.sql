-- Retention (the janitor, actors/src/janitor.rs): what finished long ago is purged in bounded
-- batches, and these indexes keep each batch from scanning the whole table.
CREATE INDEX IF NOT EXISTS inbox_handled_at_idx ON inbox (handled_at);
CREATE INDEX IF NOT EXISTS outbox_sent_idx ON outbox ((coalesce(sent_at, created_at))) WHERE state = 'sent';
