-- Whether a reply goes to a group chat: WhatsApp addresses groups with recipient_type "group".
ALTER TABLE outbox ADD COLUMN to_group boolean NOT NULL DEFAULT false;
