-- Scheduled job runs that did not happen because Alfred was down past their catch-up window.
-- Runs that did happen are in the inbox (message id job:{job}:{household}:{local date}).
CREATE TABLE missed_jobs (
    job         text        NOT NULL,
    household   text        NOT NULL,
    run_key     text        NOT NULL,
    due_at      timestamptz NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job, household, run_key)
);
