-- WorkInboxService: the owner's work mailbox, read over IMAP by the inbox poller and triaged
-- once per mail (skills_biz/src/inbox/). One Biz database holds one business, so the rows are
-- not scoped by household.
--
-- work_mails holds one row per Message-ID (a mail without one gets a synthetic
-- '<sha256-of-the-raw-mail@alfred.invalid>'), so a mail fetched again — after a restart, a
-- changed UIDVALIDITY, or by a second poller — is recognised and never summarised twice. id is
-- what users see as '#id'. body is the plain-text excerpt (at most 4000 characters) the triage
-- reads; important records Importance: high / X-Priority 1–2.
--
-- A mail is open until done_at is set ('inbox done #12'); a done mail fetched again stays done.
-- category is NULL until the mail is summarised: then one of urgent, needs_reply, waiting, fyi
-- (with why, next_action, summarised_by and summarised_at), or 'set_aside' for newsletters and
-- no-reply/automated mail (set_aside says which), which are stored already summarised and never
-- reach the LLM. The triage is saved WHERE summarised_at IS NULL, so it is written once.
CREATE TABLE IF NOT EXISTS work_mails (
    id             bigserial   PRIMARY KEY,
    message_id     text        NOT NULL UNIQUE CHECK (message_id <> ''),
    from_name      text,
    from_addr      text        NOT NULL,
    subject        text        NOT NULL,
    sent_at        timestamptz,
    stored_at      timestamptz NOT NULL,
    body           text        NOT NULL,
    important      boolean     NOT NULL DEFAULT false,
    set_aside      text        CHECK (set_aside IN ('newsletter', 'no_reply', 'automated')),
    category       text        CHECK (category IN ('urgent', 'needs_reply', 'waiting', 'fyi', 'set_aside')),
    why            text,
    next_action    text,
    summarised_by  text        CHECK (summarised_by IN ('heuristic', 'llm')),
    summarised_at  timestamptz,
    done_at        timestamptz,
    done_by        text,
    CONSTRAINT work_mails_summary_whole CHECK ((category IS NULL) = (summarised_at IS NULL)),
    CONSTRAINT work_mails_set_aside_category CHECK ((set_aside IS NULL) = (category IS DISTINCT FROM 'set_aside')),
    CONSTRAINT work_mails_done_whole CHECK ((done_at IS NULL) = (done_by IS NULL))
);

-- The open items, newest first within each category (the summary's query).
CREATE INDEX IF NOT EXISTS work_mails_open
    ON work_mails (category, (coalesce(sent_at, stored_at)) DESC, id DESC)
    WHERE done_at IS NULL;
-- The mails still to triage (each ingest's second half).
CREATE INDEX IF NOT EXISTS work_mails_unsummarised
    ON work_mails (id)
    WHERE summarised_at IS NULL;

-- Where the poller stopped in each mailbox: account is 'user@host:port/mailbox'; last_uid is
-- the highest UID taken in under uid_validity (a changed UIDVALIDITY starts the mailbox over).
CREATE TABLE IF NOT EXISTS work_inbox_cursors (
    account       text        PRIMARY KEY CHECK (account <> ''),
    uid_validity  bigint      NOT NULL CHECK (uid_validity BETWEEN 0 AND 4294967295),
    last_uid      bigint      NOT NULL CHECK (last_uid BETWEEN 0 AND 4294967295),
    polled_at     timestamptz NOT NULL
);
