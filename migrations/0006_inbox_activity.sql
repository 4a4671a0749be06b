-- The inbox also records which conversation a message belongs to and, for messages a person
-- wrote, when (by the runtime's clock): WhatsApp allows free text to a person only within 24
-- hours of their last message, so scheduled messages check it before choosing text or template.
ALTER TABLE inbox ADD COLUMN conversation text;
ALTER TABLE inbox ADD COLUMN person_at timestamptz;
CREATE INDEX inbox_person_activity_idx ON inbox (platform, conversation, person_at)
    WHERE person_at IS NOT NULL;
