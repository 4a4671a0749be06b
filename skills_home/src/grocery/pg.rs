//! The shopping lists in Postgres: table `grocery_items` (`migrations/0002_grocery.sql`).
//!
//! Everything runs inside the message's transaction, opened by the orchestrator. Statements go
//! through `query_typed`, which sends parse, bind and execute in one round trip (no separate
//! prepare), because an add sits on the hot path of every "add bananas".

use std::collections::HashMap;

use alfred_actors::skill::StoreError;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Row, Transaction};

use super::mem::classify;
use super::model::{AddReport, Added, ItemSpec, ListedItem, RemoveReport, Who};
use super::quantity::{Quantity, Unit, MAX_TOTAL};

/// Upserts every item at once and reports each row as it now is.
///
/// * Quantities in the same unit are summed, one missing quantity yields the other, and the sum
///   saturates at `$8` ([`MAX_TOTAL`]) — the rules of `Quantity::combine`. (`LEAST` ignores
///   NULLs, so it must only see two known quantities.)
/// * `xmax = 0` holds exactly for a row this statement inserted (an updated row carries the
///   updating transaction's id), which tells a new item from a merged one.
/// * The count in the outer query sees the snapshot taken before the statement (a data-modifying
///   CTE's effects are invisible to the rest of its statement), hence "before".
const ADD_SQL: &str = "
WITH added AS (
    INSERT INTO grocery_items AS g
        (household, name_key, name, quantity, unit, added_by, added_by_name)
    SELECT $1, i.name_key, i.name, i.quantity::numeric, i.unit, $6, $7
    FROM unnest($2::text[], $3::text[], $4::text[], $5::text[])
        AS i(name_key, name, quantity, unit)
    ON CONFLICT (household, name_key, unit) DO UPDATE
        SET quantity = CASE
            WHEN g.quantity IS NULL OR EXCLUDED.quantity IS NULL
                THEN COALESCE(g.quantity, EXCLUDED.quantity)
            ELSE LEAST(g.quantity + EXCLUDED.quantity, $8::text::numeric)
        END
    RETURNING g.name_key, g.unit, g.name, g.quantity::text AS quantity, g.added_by,
              g.added_by_name, (g.xmax = 0) AS inserted
)
SELECT added.*, (SELECT count(*) FROM grocery_items WHERE household = $1) AS count_before
FROM added";

const REMOVE_SQL: &str = "
DELETE FROM grocery_items WHERE household = $1 AND name_key = ANY($2)
RETURNING id, name_key, name, quantity::text AS quantity, unit, added_by, added_by_name";

const COUNT_SQL: &str = "SELECT count(*) FROM grocery_items WHERE household = $1";

const LIST_SQL: &str = "
SELECT name, quantity::text AS quantity, unit, added_by, added_by_name
FROM grocery_items WHERE household = $1 ORDER BY id";

const CLEAR_SQL: &str = "DELETE FROM grocery_items WHERE household = $1";

pub(crate) async fn add(
    tx: &Transaction<'_>,
    household: &str,
    who: &Who,
    items: Vec<ItemSpec>,
) -> Result<AddReport, StoreError> {
    let keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
    let names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
    let quantities: Vec<Option<String>> = items
        .iter()
        .map(|i| i.quantity.map(|q| q.to_string()))
        .collect();
    let units: Vec<&str> = items.iter().map(|i| i.unit.key()).collect();
    let max = MAX_TOTAL.to_string();
    let params: [(&(dyn ToSql + Sync), Type); 8] = [
        (&household, Type::TEXT),
        (&keys, Type::TEXT_ARRAY),
        (&names, Type::TEXT_ARRAY),
        (&quantities, Type::TEXT_ARRAY),
        (&units, Type::TEXT_ARRAY),
        (&who.id, Type::TEXT),
        (&who.name, Type::TEXT),
        (&max, Type::TEXT),
    ];
    let rows = tx.query_typed(ADD_SQL, &params).await?;

    let mut count_before = 0usize;
    let mut inserted = 0usize;
    let mut by_key: HashMap<(String, String), (bool, ListedItem)> =
        HashMap::with_capacity(rows.len());
    for row in &rows {
        count_before = count(row.try_get("count_before")?)?;
        let was_inserted: bool = row.try_get("inserted")?;
        inserted += usize::from(was_inserted);
        let key = (row.try_get("name_key")?, row.try_get("unit")?);
        by_key.insert(key, (was_inserted, listed(row)?));
    }
    let mut report = Vec::with_capacity(items.len());
    for spec in items {
        let key = (spec.key.clone(), spec.unit.key().to_owned());
        let Some((was_inserted, now)) = by_key.remove(&key) else {
            return Err(StoreError::Other(format!(
                "grocery upsert returned no row for {:?}",
                spec.key
            )));
        };
        report.push(if was_inserted {
            Added::New(spec)
        } else {
            classify(spec, now)
        });
    }
    Ok(AddReport {
        items: report,
        total: count_before + inserted,
    })
}

pub(crate) async fn remove(
    tx: &Transaction<'_>,
    household: &str,
    items: Vec<ItemSpec>,
) -> Result<RemoveReport, StoreError> {
    let keys: Vec<&str> = items.iter().map(|i| i.key.as_str()).collect();
    let rows = tx
        .query_typed(
            REMOVE_SQL,
            &[(&household, Type::TEXT), (&keys, Type::TEXT_ARRAY)],
        )
        .await?;
    let mut deleted = rows
        .iter()
        .map(|row| {
            Ok((
                row.try_get::<_, i64>("id")?,
                row.try_get::<_, String>("name_key")?,
                listed(row)?,
            ))
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    deleted.sort_by_key(|(id, _, _)| *id);
    let missing = items
        .into_iter()
        .filter(|spec| !deleted.iter().any(|(_, key, _)| *key == spec.key))
        .collect();
    let remaining = tx
        .query_typed(COUNT_SQL, &[(&household, Type::TEXT)])
        .await?;
    let remaining = match remaining.first() {
        Some(row) => count(row.try_get(0)?)?,
        None => 0,
    };
    Ok(RemoveReport {
        removed: deleted.into_iter().map(|(_, _, item)| item).collect(),
        missing,
        remaining,
    })
}

pub(crate) async fn list(
    tx: &Transaction<'_>,
    household: &str,
) -> Result<Vec<ListedItem>, StoreError> {
    let rows = tx
        .query_typed(LIST_SQL, &[(&household, Type::TEXT)])
        .await?;
    rows.iter().map(listed).collect()
}

pub(crate) async fn clear(tx: &Transaction<'_>, household: &str) -> Result<usize, StoreError> {
    let deleted = tx
        .execute_typed(CLEAR_SQL, &[(&household, Type::TEXT)])
        .await?;
    usize::try_from(deleted)
        .map_err(|_| StoreError::Other("grocery clear count out of range".to_owned()))
}

fn listed(row: &Row) -> Result<ListedItem, StoreError> {
    let quantity: Option<String> = row.try_get("quantity")?;
    let quantity = match quantity {
        Some(text) => Some(Quantity::parse_decimal(&text).ok_or_else(|| {
            StoreError::Other(format!(
                "grocery_items holds an unreadable quantity {text:?}"
            ))
        })?),
        None => None,
    };
    let unit: String = row.try_get("unit")?;
    let unit = Unit::from_key(&unit).ok_or_else(|| {
        StoreError::Other(format!("grocery_items holds an unknown unit {unit:?}"))
    })?;
    Ok(ListedItem {
        name: row.try_get("name")?,
        quantity,
        unit,
        added_by: row.try_get("added_by")?,
        added_by_name: row.try_get("added_by_name")?,
    })
}

fn count(value: i64) -> Result<usize, StoreError> {
    usize::try_from(value).map_err(|_| StoreError::Other(format!("negative row count {value}")))
}
