-- A claim's token: a random number each claim attempt writes with the claim. A sender whose
-- claim's answer was lost (the connection was cut after the UPDATE committed) does not know
-- whether it holds the row; it remembers the token, and its next attempt may take over a row
-- still claimed under it instead of waiting out the claim lease (OUTBOUND_CLAIM_LEASE_MS).
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS claim_token bigint;
