-- What a voice note said, kept with the message so it is transcribed at most once (issue 13).
--
-- Written right after the transcription server answered, before the message's effect commits;
-- read before fetching the audio. A redelivery (a duplicate webhook, a failed commit, a crash)
-- finds the transcript here and neither downloads nor transcribes again. Only the text is kept
-- (at most 4096 characters, WhatsApp's text limit), never the audio. The janitor purges rows
-- with the inbox keys, after RETENTION_DAYS.
CREATE TABLE transcripts (
    platform        text        NOT NULL,
    message_id      text        NOT NULL,
    transcript      text        NOT NULL CHECK (char_length(transcript) <= 4096),
    transcribed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (platform, message_id)
);
CREATE INDEX transcripts_transcribed_at_idx ON transcripts (transcribed_at);
