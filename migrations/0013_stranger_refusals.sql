-- Access rules (issue 10): with a households file, a stranger (a conversation no household
-- claims) gets one short refusal a day. The only thing kept about them is this counter,
-- written in the message's own transaction (actors/src/access/strangers.rs): the first message
-- of a day (count 1) is answered, the rest only counted. Purged by the janitor after
-- RETENTION_DAYS, like the inbox keys that name the same conversation.
CREATE TABLE IF NOT EXISTS stranger_refusals (
    platform     text    NOT NULL,
    -- The stranger's direct chat (their number) or a group no household lists.
    conversation text    NOT NULL,
    -- The stranger's local date (DEFAULT_TIMEZONE).
    day          date    NOT NULL,
    count        integer NOT NULL,
    PRIMARY KEY (platform, conversation, day)
);
CREATE INDEX IF NOT EXISTS stranger_refusals_day_idx ON stranger_refusals (day);
