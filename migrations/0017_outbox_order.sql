-- Per-recipient send order (issue 12): a reply is sent only once every earlier reply to the
-- same recipient (platform, account, recipient; earlier = smaller id) is sent or dead. A claim
-- of a row that has an earlier row still in flight does not claim it: it records the time in
-- `held_at` instead, and the row waits. Whoever finishes the earlier row (the sender recording
-- `sent` or `dead`) republishes the held row at once; the relay republishes a held row that has
-- become the first in flight of its recipient, should that have been missed (a crash, a race).
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS held_at timestamptz;

-- "Is there an earlier row of this recipient in flight?" — asked by every claim, send result
-- and relay pass. Partial, like outbox_in_flight_idx, so it stays small.
CREATE INDEX IF NOT EXISTS outbox_in_flight_recipient_idx
    ON outbox (platform, account, recipient, id)
    WHERE state IN ('pending', 'sending', 'retry');
