-- What the LLM made of a message, kept with the message so it is asked at most once (issue 10).
--
-- Written right after the LLM answers, before the message's effect commits; read before asking.
-- A redelivery after a failed commit (a skill that panicked, a deadlock victim, a crash) finds
-- the answer here and does not ask again. `command` is the command the LLM proposed, already
-- accepted by a skill's grammar; NULL when it had none (help was answered). `outcome` is how
-- the request ended, the `result` label of alfred_llm_requests_total. The janitor purges rows
-- with the inbox keys, after RETENTION_DAYS.
CREATE TABLE llm_answers (
    platform     text        NOT NULL,
    message_id   text        NOT NULL,
    outcome      text        NOT NULL,
    command      text,
    answered_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, message_id)
);
CREATE INDEX llm_answers_answered_at_idx ON llm_answers (answered_at);
