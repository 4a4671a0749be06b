-- CRMQueryService: the business's companies, contacts and deals, filled by `alfred crm import`
-- (skills_biz/src/crm/import.rs) and read by the skill's questions. One Biz database holds one
-- business, so the rows are not scoped by household.
--
-- Natural keys make a re-import an upsert: a company by name_key (trimmed, lower-case, inner
-- spaces folded); a contact by contact_key (its lower-case e-mail, or 'name:<company key>/<name
-- key>' when it has none); a deal by (company, name_key).
-- amount is exact (numeric, two decimals); currency an ISO 4217 code; close_date a calendar
-- date; open is false for the closed stages (won, lost, closed won, closed lost).
-- crm_owners maps a Slack user id to the owner name used in deals.owner, for "my deals".
CREATE TABLE IF NOT EXISTS companies (
    id        bigserial PRIMARY KEY,
    name_key  text      NOT NULL UNIQUE CHECK (name_key <> ''),
    name      text      NOT NULL
);

CREATE TABLE IF NOT EXISTS contacts (
    id          bigserial PRIMARY KEY,
    contact_key text      NOT NULL UNIQUE,
    company_id  bigint    NOT NULL REFERENCES companies (id),
    name        text      NOT NULL,
    name_key    text      NOT NULL,
    email       text
);
CREATE INDEX IF NOT EXISTS contacts_name_key ON contacts (name_key);

CREATE TABLE IF NOT EXISTS deals (
    id          bigserial     PRIMARY KEY,
    company_id  bigint        NOT NULL REFERENCES companies (id),
    contact_id  bigint        REFERENCES contacts (id),
    name_key    text          NOT NULL CHECK (name_key <> ''),
    name        text          NOT NULL,
    stage       text          NOT NULL,
    open        boolean       NOT NULL,
    amount      numeric(18,2) NOT NULL CHECK (amount >= 0),
    currency    text          NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    close_date  date,
    owner       text,
    CONSTRAINT deals_company_name UNIQUE (company_id, name_key)
);
CREATE INDEX IF NOT EXISTS deals_open_close_date ON deals (close_date) WHERE open;

CREATE TABLE IF NOT EXISTS crm_owners (
    slack_user  text PRIMARY KEY,
    owner       text NOT NULL CHECK (owner <> '')
);
