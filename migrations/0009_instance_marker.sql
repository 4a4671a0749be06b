-- Which instance (home or biz) owns this database: written at the first start, checked at every
-- start, so a Biz Alfred pointed at the family's database (or the reverse) refuses to run.
CREATE TABLE alfred_instance (
    only_row   boolean     PRIMARY KEY DEFAULT true CHECK (only_row),
    instance   text        NOT NULL,
    claimed_at timestamptz NOT NULL DEFAULT now()
);
