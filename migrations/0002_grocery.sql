-- GroceryService: every household's shopping list, one row per item and unit.
--
-- name_key is the matching key of the name (lower-case, plural folded; see
-- skills_home/src/grocery/model.rs `name_key`); name is the name as first typed (shown in
-- the list and replies).
-- unit is '' for a plain count ("3 bananas", "milk"), else the normalised unit ("kg", "g",
-- "l", "ml", "bottle" ...). It is NOT NULL so that the unique key treats "no unit" as one
-- value: a NULL would make every unit-less row distinct and break the merge on conflict.
-- quantity is NULL when none was given ("add milk"); amounts in the same unit are summed.
-- id orders the list by first addition (items added by one message share added_at).
CREATE TABLE IF NOT EXISTS grocery_items (
    id            bigserial     PRIMARY KEY,
    household     text          NOT NULL,
    name_key      text          NOT NULL CHECK (name_key <> ''),
    name          text          NOT NULL,
    quantity      numeric(15,3) CHECK (quantity IS NULL OR quantity > 0),
    unit          text          NOT NULL DEFAULT '',
    added_by      text          NOT NULL,
    added_by_name text          NOT NULL,
    added_at      timestamptz   NOT NULL DEFAULT now(),
    CONSTRAINT grocery_items_household_item_unit UNIQUE (household, name_key, unit)
);
