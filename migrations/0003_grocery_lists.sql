-- GroceryService, a list a family keeps using: unit families, check-off, undo history.
-- (skills_home/src/grocery: `convert` for families, `plan` for the rules, `undo` for history.)

-- family: the unit family of the line ('count', 'mass', 'volume', 'imperial_mass', or the
-- container unit itself); amounts within a family are summed into one line (2 kg + 500 g).
-- bought_*: set together when someone ticks the line off ("got milk"); the line stays listed
-- until "clear bought".
ALTER TABLE grocery_items
    ADD COLUMN family         text,
    ADD COLUMN bought_by      text,
    ADD COLUMN bought_by_name text,
    ADD COLUMN bought_at      timestamptz;

UPDATE grocery_items SET family = CASE unit
    WHEN ''   THEN 'count'
    WHEN 'kg' THEN 'mass'
    WHEN 'g'  THEN 'mass'
    WHEN 'l'  THEN 'volume'
    WHEN 'ml' THEN 'volume'
    WHEN 'lb' THEN 'imperial_mass'
    WHEN 'oz' THEN 'imperial_mass'
    ELSE unit
END;

-- Lines kept apart by unit until now ("2 kg apples" and "500 g apples") become one line per
-- family, in the unit of the first line, as the new rule would have summed them. Only the
-- scaled units can meet here (the old key was per unit), and their quantities are never NULL.
WITH scaled AS (
    SELECT id, household, name_key, family, quantity,
           CASE unit WHEN 'kg' THEN 1000 WHEN 'l' THEN 1000 WHEN 'lb' THEN 16 ELSE 1 END AS factor
    FROM grocery_items
), groups AS (
    SELECT household, name_key, family, min(id) AS keep, sum(quantity * factor) AS base
    FROM scaled
    GROUP BY household, name_key, family
    HAVING count(*) > 1
), kept AS (
    UPDATE grocery_items g
    SET quantity = LEAST(GREATEST(round(groups.base / scaled.factor, 3), 0.001), 1000000)
    FROM groups JOIN scaled ON scaled.id = groups.keep
    WHERE g.id = groups.keep
)
DELETE FROM grocery_items g
USING groups
WHERE g.household = groups.household AND g.name_key = groups.name_key
  AND g.family = groups.family AND g.id <> groups.keep;

ALTER TABLE grocery_items
    ALTER COLUMN family SET NOT NULL,
    ADD CONSTRAINT grocery_items_bought_complete CHECK (
        (bought_at IS NULL) = (bought_by IS NULL)
        AND (bought_by IS NULL) = (bought_by_name IS NULL)),
    DROP CONSTRAINT grocery_items_household_item_unit;

-- One open line per item and family (a bought line may sit next to a new open one: buying
-- again). Changes to a household's list are also serialized by an advisory lock; this is
-- the backstop.
CREATE UNIQUE INDEX grocery_items_open_line
    ON grocery_items (household, name_key, family) WHERE bought_at IS NULL;
CREATE INDEX grocery_items_household_idx ON grocery_items (household, id);

-- Every member's recent changes, for undo: the lines a change touched, before and after it, as
-- JSON arrays of lines (see skills_home/src/grocery/pg.rs `LineJson`). Written in the same
-- transaction as the change; undo deletes the row it reverts; only the last 20 per member are
-- kept.
CREATE TABLE grocery_changes (
    id         bigserial   PRIMARY KEY,
    household  text        NOT NULL,
    actor      text        NOT NULL,
    summary    text        NOT NULL,
    made_at    timestamptz NOT NULL,
    before     jsonb       NOT NULL,
    after      jsonb       NOT NULL
);
CREATE INDEX grocery_changes_actor_idx ON grocery_changes (household, actor, id);
