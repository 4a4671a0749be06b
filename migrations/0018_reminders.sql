-- Reminders (skills_home/src/reminders): one row per reminder a household set.
--
-- number is the household's own number for it ("cancel reminder 3"), handed out by
-- reminder_numbers (one row per household, its last number; the row lock serializes two
-- members setting reminders at once). Rows are kept when sent or cancelled, so numbers are
-- never reused.
-- platform/account/conversation/is_group say where the reminder is sent (the asker's chat,
-- or the member's direct chat for "remind Sam …").
-- recurrence is NULL for a one-off reminder, else 'daily' or 'weekly:<mon…sun>', at the
-- local time of day local_time in timezone; due_at is the pending occurrence, the instant
-- the scheduler publishes it at (moved to the end of quiet hours when it falls in them).
-- Each occurrence is handled once: its message id is reminder:{id}:{due_at} in the inbox.
CREATE TABLE IF NOT EXISTS reminders (
    id              bigserial   PRIMARY KEY,
    household       text        NOT NULL,
    number          integer     NOT NULL CHECK (number > 0),
    text            text        NOT NULL CHECK (text <> ''),
    for_name        text,
    created_by      text        NOT NULL,
    created_by_name text        NOT NULL,
    platform        text        NOT NULL,
    account         text        NOT NULL,
    conversation    text        NOT NULL,
    is_group        boolean     NOT NULL,
    timezone        text        NOT NULL,
    recurrence      text,
    local_time      time,
    due_at          timestamptz NOT NULL,
    state           text        NOT NULL DEFAULT 'active'
                                CHECK (state IN ('active', 'done', 'cancelled')),
    last_sent_at    timestamptz,
    created_at      timestamptz NOT NULL,
    CONSTRAINT reminders_household_number UNIQUE (household, number),
    CONSTRAINT reminders_recurrence_time CHECK ((recurrence IS NULL) = (local_time IS NULL))
);

-- The scheduler's look-up of what is due, every tick.
CREATE INDEX IF NOT EXISTS reminders_due ON reminders (due_at) WHERE state = 'active';

CREATE TABLE IF NOT EXISTS reminder_numbers (
    household text    PRIMARY KEY,
    last      integer NOT NULL
);
