-- ChoreService: every household's chores and what became of each occurrence.
--
-- Dates are the household's *local* dates (an occurrence is a calendar day, never an instant,
-- so DST changes cannot move one); see skills_home/src/chores/recurrence.rs.
--
-- chores: one row per chore. name_key is the matching key of the name (lower-case, article and
-- plural folded; skills_home/src/chores/model.rs `name_key`), unique per household.
-- recurrence is the rule's stored form: 'daily', 'weekly:<weekday bitmask, bit 0 = Monday>',
-- 'every:<n days from start_date>', 'monthly:<day of month>'.
-- members is the rotation order (one member: a fixed assignee; none: anyone); turn indexes it.
-- cover is who does the pending occurrence instead (after a swap); payback_from[i]'s next turn
-- goes to payback_to[i] (turns owed by swaps, oldest first).
-- due_date is the pending occurrence's local date.
CREATE TABLE IF NOT EXISTS chores (
    id            bigserial   PRIMARY KEY,
    household     text        NOT NULL,
    name_key      text        NOT NULL CHECK (name_key <> ''),
    name          text        NOT NULL,
    recurrence    text        NOT NULL,
    start_date    date        NOT NULL,
    members       text[]      NOT NULL DEFAULT '{}',
    turn          integer     NOT NULL DEFAULT 0 CHECK (turn >= 0),
    cover         text,
    payback_from  text[]      NOT NULL DEFAULT '{}',
    payback_to    text[]      NOT NULL DEFAULT '{}',
    due_date      date        NOT NULL,
    created_by    text        NOT NULL,
    created_at    timestamptz NOT NULL,
    CONSTRAINT chores_household_name UNIQUE (household, name_key),
    CONSTRAINT chores_payback_pairs CHECK (cardinality(payback_from) = cardinality(payback_to))
);

-- chore_history: one row per occurrence done or skipped, in the order recorded; streaks and
-- stats are computed from it. Removing a chore removes its history.
-- local_date is the household's local date when recorded (to notice "already done today").
CREATE TABLE IF NOT EXISTS chore_history (
    id           bigserial   PRIMARY KEY,
    household    text        NOT NULL,
    chore_id     bigint      NOT NULL REFERENCES chores (id) ON DELETE CASCADE,
    due_date     date        NOT NULL,
    assignee     text,
    outcome      text        NOT NULL CHECK (outcome IN ('done', 'skipped')),
    done_by      text,
    on_time      boolean     NOT NULL,
    local_date   date        NOT NULL,
    recorded_at  timestamptz NOT NULL,
    recorded_by  text        NOT NULL
);

CREATE INDEX IF NOT EXISTS chore_history_household_idx ON chore_history (household, id);
CREATE INDEX IF NOT EXISTS chore_history_chore_idx ON chore_history (chore_id);
