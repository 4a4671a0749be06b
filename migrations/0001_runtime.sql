-- The runtime's exactly-once tables (DESIGN.md §3).
--
-- Every migration runs in its own transaction (see actors/src/store/migrate.rs), so statements
-- that cannot run inside one (CREATE INDEX CONCURRENTLY, ALTER TYPE … ADD VALUE before PG 12)
-- do not belong in these files.

-- One row per platform event already handled. The orchestrator inserts the key with
-- ON CONFLICT DO NOTHING in the message's transaction: a conflict means "already done".
CREATE TABLE inbox (
    platform    text        NOT NULL,
    message_id  text        NOT NULL,
    handled_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, message_id)
);

-- One row per reply, committed together with the effect that produced it, then published to
-- `alfred-outbox`. The sender claims a row (pending/retry → sending) before sending it, so a
-- duplicate stream entry never causes a second send.
--
--   pending ──claim──▶ sending ──▶ sent
--      ▲                  │  └───▶ dead     (permanent error)
--      └─── (relay) ── retry ◀─┘            (retryable error; due again at next_attempt_at)
CREATE TABLE outbox (
    id               bigserial   PRIMARY KEY,
    platform         text        NOT NULL,
    account          text        NOT NULL,
    recipient        text        NOT NULL,
    reply_to         text,
    -- The serialized `OutboundBody`.
    body             jsonb       NOT NULL,
    traceparent      text,
    state            text        NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'sending', 'sent', 'retry', 'dead')),
    attempts         integer     NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    -- Last time the row was put on `alfred-outbox` (by the orchestrator or the relay).
    published_at     timestamptz,
    claimed_at       timestamptz,
    next_attempt_at  timestamptz,
    sent_at          timestamptz,
    provider_id      text,
    last_error       text
);

-- The relay scans only rows that are still in flight. In steady state almost every row is
-- 'sent', so this partial index stays tiny however large the table grows, and the relay's
-- query stays cheap at thousands of commits a second.
CREATE INDEX outbox_in_flight_idx ON outbox (id) WHERE state IN ('pending', 'sending', 'retry');
