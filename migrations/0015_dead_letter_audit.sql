-- Operators' actions on dead letters (issue 11): every replay and discard, with who, what and
-- when, and the dead letter itself with its secrets removed (actors/src/dead_letters/). A
-- discarded dead letter lives on only here. Never purged by the janitor: an audit log is kept
-- until an operator decides otherwise.
CREATE TABLE IF NOT EXISTS dead_letter_audit (
    id        bigserial   PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    -- Who: "admin-api from 10.0.0.5", "cli as ops@host".
    actor     text        NOT NULL,
    action    text        NOT NULL CHECK (action IN ('replay', 'discard')),
    -- The dead-letter stream by its short name: 'ingest' or 'outbox'.
    stream    text        NOT NULL CHECK (stream IN ('ingest', 'outbox')),
    -- The dead letter's entry id in its dead stream.
    entry_id  text        NOT NULL,
    -- replayed, already_answered, already_sent, in_flight, discarded.
    outcome   text        NOT NULL,
    -- The fresh stream entry a replay made.
    new_id    text,
    -- The dead letter as operators saw it (secrets removed).
    entry     jsonb       NOT NULL
);
-- A second replay of the same dead letter finds the first here.
CREATE INDEX IF NOT EXISTS dead_letter_audit_entry_idx ON dead_letter_audit (stream, entry_id);
