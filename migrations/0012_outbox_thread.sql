-- The thread a reply is posted in (Slack `thread_ts`): a mention in a channel is answered
-- under it, a message in a thread within that thread. NULL: no thread (WhatsApp, DMs).
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS thread text;
