//! The shopping lists in Postgres: tables `grocery_items` and `grocery_changes`
//! (`migrations/0002_grocery.sql`, `migrations/0003_grocery_lists.sql`).
//!
//! Everything runs inside the message's transaction, opened by the orchestrator. A change
//! first takes the household's transaction-scoped advisory lock, then reads the household's
//! lines: two members adding at once (their DMs are different conversations, so the
//! orchestrator may run them concurrently) are serialized, and each plans on the lines as the
//! other left them. The partial unique index on open lines backs that up.
//!
//! Lines travel to Postgres as one JSON array per statement (`jsonb_to_recordset`). Every
//! statement is prepared once per pooled connection (`prepare_typed_cached`; the connection
//! keeps it across transactions): sent as text, Postgres parsed and planned each on every
//! message, a large share of its CPU under load (BENCHMARKS.md). Statements whose results do
//! not feed each other are pipelined (issued together, one round trip): the lock and the load,
//! the delete and the upsert. Postgres still runs them one after the other, in order, and under
//! READ COMMITTED each takes its snapshot when it starts, so the load sees every change
//! committed before the lock was granted.

use std::collections::HashMap;

use alfred_actors::store::StoreError;
use chrono::{DateTime, Utc};
use deadpool_postgres::Transaction;
use serde::{Deserialize, Serialize};
use tokio_postgres::types::ToSql;
use tokio_postgres::types::Type;
use tokio_postgres::Row;

use super::plan::Plan;
use super::quantity::{Quantity, Unit};
use super::report::{Bought, Change, ListedItem};
use super::undo::DEPTH;

/// Prefix of the advisory lock key of a household's list.
const LOCK_PREFIX: &str = "alfred.grocery:";

const LOCK_SQL: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))";

const LOAD_SQL: &str = "SELECT id, name_key, name, quantity::text AS quantity, unit, added_by, \
                        added_by_name, added_at, bought_by, bought_by_name, bought_at \
                        FROM grocery_items WHERE household = $1 ORDER BY id";

const DELETE_SQL: &str = "DELETE FROM grocery_items WHERE household = $1 AND id = ANY($2)";

/// The upserts' conflict clause: a line written under an id that exists overwrites the stored
/// line, only in its own household (a macro so that the statements stay `&'static str`s).
macro_rules! overwrite_stored_line {
    () => {
        "ON CONFLICT (id) DO UPDATE SET
    name_key = EXCLUDED.name_key, family = EXCLUDED.family, name = EXCLUDED.name,
    quantity = EXCLUDED.quantity, unit = EXCLUDED.unit, added_by = EXCLUDED.added_by,
    added_by_name = EXCLUDED.added_by_name, added_at = EXCLUDED.added_at,
    bought_by = EXCLUDED.bought_by, bought_by_name = EXCLUDED.bought_by_name,
    bought_at = EXCLUDED.bought_at
    WHERE g.household = EXCLUDED.household"
    };
}

/// Inserts lines without an id under a new one, and writes lines with an id over the stored
/// line (or inserts them again under that id: an undone remove). The household guard makes a
/// wrong id fail loudly (the row count is checked) instead of touching another household.
const UPSERT_SQL: &str = concat!(
    "
INSERT INTO grocery_items AS g
    (id, household, name_key, family, name, quantity, unit, added_by, added_by_name, added_at,
     bought_by, bought_by_name, bought_at)
SELECT COALESCE(r.id, nextval(pg_get_serial_sequence('grocery_items', 'id'))), $1,
       r.name_key, r.family, r.name, r.quantity::numeric, r.unit, r.added_by, r.added_by_name,
       r.added_at, r.bought_by, r.bought_by_name, r.bought_at
FROM jsonb_to_recordset($2::jsonb) AS r(
    id bigint, name_key text, family text, name text, quantity text, unit text,
    added_by text, added_by_name text, added_at timestamptz,
    bought_by text, bought_by_name text, bought_at timestamptz)
",
    overwrite_stored_line!(),
    "
RETURNING g.id, g.name_key, g.name, g.quantity::text AS quantity, g.unit, g.added_by,
          g.added_by_name, g.added_at, g.bought_by, g.bought_by_name, g.bought_at"
);

/// Records a change and keeps only the member's last `$7 + 1` (the DELETE does not see the row
/// the CTE inserts: both run on the statement's snapshot).
const RECORD_SQL: &str = "
WITH recorded AS (
    INSERT INTO grocery_changes (household, actor, summary, made_at, before, after)
    VALUES ($1, $2, $3, $4, $5, $6)
)
DELETE FROM grocery_changes
WHERE household = $1 AND actor = $2 AND id < (
    SELECT min(id) FROM (
        SELECT id FROM grocery_changes WHERE household = $1 AND actor = $2
        ORDER BY id DESC LIMIT $7) AS kept)";

const POP_SQL: &str = "
DELETE FROM grocery_changes WHERE id = (
    SELECT id FROM grocery_changes WHERE household = $1 AND actor = $2
    ORDER BY id DESC LIMIT 1)
RETURNING actor, summary, made_at, before, after";

/// Takes the households' locks, one after the other in the order given (sorted by the caller,
/// so that two batches never wait on each other in a cycle).
const LOCK_ALL_SQL: &str =
    "SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) FROM unnest($1::text[]) AS k";

/// Each household's lines through the household index (`OFFSET 0` keeps the `LATERAL`
/// subquery from being flattened into a join, which a plan made on an empty table runs as a
/// hash join over the whole table; see `alfred_testkit::plans`).
const LOAD_ALL_SQL: &str = "SELECT h.household, g.id, g.name_key, g.name, g.quantity, g.unit, \
         g.added_by, g.added_by_name, g.added_at, g.bought_by, g.bought_by_name, g.bought_at \
     FROM unnest($1::text[]) AS h (household) \
     CROSS JOIN LATERAL (SELECT id, name_key, name, quantity::text AS quantity, unit, added_by, \
             added_by_name, added_at, bought_by, bought_by_name, bought_at \
         FROM grocery_items g WHERE g.household = h.household OFFSET 0) g \
     ORDER BY h.household, g.id";

/// `$1` ids for new lines, drawn ahead of planning.
const RESERVE_SQL: &str = "SELECT nextval(pg_get_serial_sequence('grocery_items', 'id')) \
                           FROM generate_series(1, $1)";

/// Deletes lines by id, each found through the primary key (a `LATERAL … LIMIT 1` probe) and
/// deleted by its tuple id: a join or `id = ANY($1)` is planned, on a table of some thousand
/// lines not yet analyzed, as a scan of the whole table (`alfred_testkit::plans`). Tuple ids
/// are safe here because the batch holds its households' locks: no other transaction changes
/// their lines meanwhile. The household guard: never another household's line.
const DELETE_ALL_SQL: &str = "DELETE FROM grocery_items WHERE ctid = ANY (ARRAY( \
     SELECT g.ctid FROM unnest($1::int8[]) AS d (id) \
     CROSS JOIN LATERAL (SELECT ctid FROM grocery_items g \
         WHERE g.id = d.id AND g.household = ANY($2::text[]) LIMIT 1) g))";

/// Writes a batch's lines, each of its own household and under its own id (existing or
/// reserved), in id order: lines that exist are updated before new ones go in, as one message
/// after another would have (the open-line unique index is checked row by row).
const UPSERT_ALL_SQL: &str = concat!(
    "
INSERT INTO grocery_items AS g
    (id, household, name_key, family, name, quantity, unit, added_by, added_by_name, added_at,
     bought_by, bought_by_name, bought_at)
SELECT r.id, r.household, r.name_key, r.family, r.name, r.quantity::numeric, r.unit,
       r.added_by, r.added_by_name, r.added_at, r.bought_by, r.bought_by_name, r.bought_at
FROM jsonb_to_recordset($1::jsonb) AS r(
    id bigint, household text, name_key text, family text, name text, quantity text, unit text,
    added_by text, added_by_name text, added_at timestamptz,
    bought_by text, bought_by_name text, bought_at timestamptz)
ORDER BY r.id
",
    overwrite_stored_line!()
);

/// Records a batch's changes, in order (their ids order each member's history).
const RECORD_ALL_SQL: &str = "
INSERT INTO grocery_changes (household, actor, summary, made_at, before, after)
SELECT household, actor, summary, made_at, before, after
FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::jsonb[], $6::jsonb[])
    WITH ORDINALITY AS c(household, actor, summary, made_at, before, after, n)
ORDER BY n";

/// Keeps only the last `$3` changes of each (household, member) in `$1`, `$2` (run after
/// `RECORD_ALL_SQL`, whose rows it sees). Each member's history is read backwards through its
/// index, and the older rows deleted by tuple id (as in `DELETE_ALL_SQL`, and as safely: a
/// household's history changes only under its lock).
const TRIM_ALL_SQL: &str = "DELETE FROM grocery_changes WHERE ctid = ANY (ARRAY( \
     SELECT old.ctid \
     FROM (SELECT DISTINCT household, actor FROM unnest($1::text[], $2::text[]) \
           AS t (household, actor)) t \
     CROSS JOIN LATERAL (SELECT ctid FROM grocery_changes k \
         WHERE k.household = t.household AND k.actor = t.actor \
         ORDER BY k.id DESC OFFSET $3) old))";

/// The statements run for every message or batch, for the test of their plans
/// (`alfred_testkit::plans`).
#[doc(hidden)]
pub const HOT_STATEMENTS: &[&str] = &[
    LOCK_SQL,
    LOAD_SQL,
    DELETE_SQL,
    UPSERT_SQL,
    RECORD_SQL,
    POP_SQL,
    LOCK_ALL_SQL,
    LOAD_ALL_SQL,
    RESERVE_SQL,
    DELETE_ALL_SQL,
    UPSERT_ALL_SQL,
    RECORD_ALL_SQL,
    TRIM_ALL_SQL,
];

/// The advisory lock key of a household's list (one message at a time and batches alike).
fn lock_key(household: &str) -> String {
    format!("{LOCK_PREFIX}{household}")
}

/// Takes the household's transaction-scoped lock (serializing its changes until the
/// transaction ends), then reads its lines, in one round trip.
pub(crate) async fn lock_and_load(
    tx: &Transaction<'_>,
    household: &str,
) -> Result<Vec<ListedItem>, StoreError> {
    let (lock, load) = futures::try_join!(
        tx.prepare_typed_cached(LOCK_SQL, &[Type::TEXT]),
        tx.prepare_typed_cached(LOAD_SQL, &[Type::TEXT]),
    )?;
    let key = lock_key(household);
    // Issued together (pipelined); Postgres runs the load after the lock is granted.
    let (lock_params, load_params): ([&(dyn ToSql + Sync); 1], [&(dyn ToSql + Sync); 1]) =
        ([&key], [&household]);
    let (_, rows) = futures::try_join!(
        tx.execute(&lock, &lock_params),
        tx.query(&load, &load_params),
    )?;
    rows.iter().map(listed).collect()
}

/// The household's lines, in order of first addition.
pub(crate) async fn load(
    tx: &Transaction<'_>,
    household: &str,
) -> Result<Vec<ListedItem>, StoreError> {
    let load = tx.prepare_typed_cached(LOAD_SQL, &[Type::TEXT]).await?;
    let rows = tx.query(&load, &[&household]).await?;
    rows.iter().map(listed).collect()
}

/// Deletes, then writes, as the plan says; the written lines as stored.
pub(crate) async fn write(
    tx: &Transaction<'_>,
    household: &str,
    plan: Plan,
) -> Result<Vec<ListedItem>, StoreError> {
    let lines = to_json(&plan.upsert)?;
    // Both prepared first (from the cache, or together on a connection's first use), so that
    // the two statements below are issued back to back, the delete first.
    let (delete, upsert) = futures::try_join!(
        tx.prepare_typed_cached(DELETE_SQL, &[Type::TEXT, Type::INT8_ARRAY]),
        tx.prepare_typed_cached(UPSERT_SQL, &[Type::TEXT, Type::JSONB]),
    )?;
    let delete = async {
        if plan.delete.is_empty() {
            return Ok(0);
        }
        tx.execute(&delete, &[&household as &(dyn ToSql + Sync), &plan.delete])
            .await
    };
    let upsert = async {
        if plan.upsert.is_empty() {
            return Ok(Vec::new());
        }
        tx.query(&upsert, &[&household, &lines]).await
    };
    // Pipelined: `try_join` polls the delete first, and a first poll sends the statement, so
    // Postgres runs the delete before the upsert.
    let (_, rows) = futures::try_join!(delete, upsert)?;
    if rows.len() != plan.upsert.len() {
        return Err(StoreError::Other(format!(
            "grocery upsert wrote {} of {} lines",
            rows.len(),
            plan.upsert.len()
        )));
    }
    rows.iter().map(listed).collect()
}

/// Records a change in the member's history.
pub(crate) async fn record(
    tx: &Transaction<'_>,
    household: &str,
    change: &Change,
) -> Result<(), StoreError> {
    let before = to_json(&change.before)?;
    let after = to_json(&change.after)?;
    let keep_older = i64::try_from(DEPTH - 1).unwrap_or(i64::MAX);
    let statement = tx
        .prepare_typed_cached(
            RECORD_SQL,
            &[
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TIMESTAMPTZ,
                Type::JSONB,
                Type::JSONB,
                Type::INT8,
            ],
        )
        .await?;
    tx.execute(
        &statement,
        &[
            &household,
            &change.actor,
            &change.summary,
            &change.at,
            &before,
            &after,
            &keep_older,
        ],
    )
    .await?;
    Ok(())
}

/// Takes the member's latest change off their history.
pub(crate) async fn pop(
    tx: &Transaction<'_>,
    household: &str,
    actor: &str,
) -> Result<Option<Change>, StoreError> {
    let statement = tx
        .prepare_typed_cached(POP_SQL, &[Type::TEXT, Type::TEXT])
        .await?;
    let rows = tx.query(&statement, &[&household, &actor]).await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    Ok(Some(Change {
        actor: row.try_get("actor")?,
        summary: row.try_get("summary")?,
        at: row.try_get("made_at")?,
        before: from_json(row.try_get("before")?)?,
        after: from_json(row.try_get("after")?)?,
    }))
}

/// What a batch found: each household's lines (households without lines are absent), and
/// the ids reserved for new lines, ascending.
pub(crate) struct Loaded {
    pub lists: HashMap<String, Vec<ListedItem>>,
    pub reserved: Vec<i64>,
}

/// Takes the locks of `locked` (sorted, distinct households), reads the lines of `households`
/// and reserves `new_lines` ids, in one round trip.
pub(crate) async fn lock_and_load_all(
    tx: &Transaction<'_>,
    locked: &[&str],
    households: &[&str],
    new_lines: i64,
) -> Result<Loaded, StoreError> {
    let (lock, load, reserve) = futures::try_join!(
        tx.prepare_typed_cached(LOCK_ALL_SQL, &[Type::TEXT_ARRAY]),
        tx.prepare_typed_cached(LOAD_ALL_SQL, &[Type::TEXT_ARRAY]),
        tx.prepare_typed_cached(RESERVE_SQL, &[Type::INT8]),
    )?;
    let keys: Vec<String> = locked.iter().map(|household| lock_key(household)).collect();
    let lock = async {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        tx.query(&lock, &[&keys]).await
    };
    let reserve = async {
        if new_lines == 0 {
            return Ok(Vec::new());
        }
        tx.query(&reserve, &[&new_lines]).await
    };
    // Issued together in this order (pipelined); the load runs once the locks are granted.
    let load_params: [&(dyn ToSql + Sync); 1] = [&households];
    let (_, rows, ids) = futures::try_join!(lock, tx.query(&load, &load_params), reserve)?;
    let mut lists: HashMap<String, Vec<ListedItem>> = HashMap::new();
    for row in &rows {
        lists
            .entry(row.try_get("household")?)
            .or_default()
            .push(listed(row)?);
    }
    let mut reserved = ids
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<Vec<i64>, _>>()?;
    reserved.sort_unstable();
    Ok(Loaded { lists, reserved })
}

/// A batch's writes: lines to delete and to write, each with its household, and the changes
/// to record, in order.
pub(crate) struct Writes<'a> {
    pub delete: Vec<i64>,
    pub upsert: Vec<(&'a str, &'a ListedItem)>,
    pub changes: &'a [(String, Change)],
}

/// Deletes, writes and records a batch's changes, in one round trip.
pub(crate) async fn write_all(
    tx: &Transaction<'_>,
    households: &[&str],
    writes: Writes<'_>,
) -> Result<(), StoreError> {
    let lines = serde_json::to_value(
        writes
            .upsert
            .iter()
            .map(|(household, line)| HouseholdLine {
                household,
                line: line_json(line),
            })
            .collect::<Vec<_>>(),
    )
    .map_err(|error| StoreError::Other(format!("grocery lines to JSON: {error}")))?;
    let mut change_households = Vec::with_capacity(writes.changes.len());
    let mut actors = Vec::with_capacity(writes.changes.len());
    let mut summaries = Vec::with_capacity(writes.changes.len());
    let mut made_at = Vec::with_capacity(writes.changes.len());
    let mut befores = Vec::with_capacity(writes.changes.len());
    let mut afters = Vec::with_capacity(writes.changes.len());
    for (household, change) in writes.changes {
        change_households.push(household.as_str());
        actors.push(change.actor.as_str());
        summaries.push(change.summary.as_str());
        made_at.push(change.at);
        befores.push(to_json(&change.before)?);
        afters.push(to_json(&change.after)?);
    }
    let keep = i64::try_from(DEPTH).unwrap_or(i64::MAX);
    let (delete, upsert, record, trim) = futures::try_join!(
        tx.prepare_typed_cached(DELETE_ALL_SQL, &[Type::INT8_ARRAY, Type::TEXT_ARRAY]),
        tx.prepare_typed_cached(UPSERT_ALL_SQL, &[Type::JSONB]),
        tx.prepare_typed_cached(
            RECORD_ALL_SQL,
            &[
                Type::TEXT_ARRAY,
                Type::TEXT_ARRAY,
                Type::TEXT_ARRAY,
                Type::TIMESTAMPTZ_ARRAY,
                Type::JSONB_ARRAY,
                Type::JSONB_ARRAY,
            ],
        ),
        tx.prepare_typed_cached(
            TRIM_ALL_SQL,
            &[Type::TEXT_ARRAY, Type::TEXT_ARRAY, Type::INT8]
        ),
    )?;
    let delete = async {
        if writes.delete.is_empty() {
            return Ok(0);
        }
        tx.execute(&delete, &[&writes.delete, &households]).await
    };
    let upsert = async {
        if writes.upsert.is_empty() {
            return Ok(0);
        }
        tx.execute(&upsert, &[&lines]).await
    };
    let recorded = !writes.changes.is_empty();
    let record = async {
        if !recorded {
            return Ok(0);
        }
        let params: [&(dyn ToSql + Sync); 6] = [
            &change_households,
            &actors,
            &summaries,
            &made_at,
            &befores,
            &afters,
        ];
        tx.execute(&record, &params).await
    };
    let trim = async {
        if !recorded {
            return Ok(0);
        }
        tx.execute(&trim, &[&change_households, &actors, &keep])
            .await
    };
    // Pipelined: `try_join` polls them in order and a first poll sends the statement, so
    // Postgres runs them in this order (the trim sees the recorded rows).
    let (deleted, upserted, _, _) = futures::try_join!(delete, upsert, record, trim)?;
    let expected = (writes.delete.len(), writes.upsert.len());
    if (deleted as usize, upserted as usize) != expected {
        return Err(StoreError::Other(format!(
            "a grocery batch deleted {deleted} of {} lines and wrote {upserted} of {}",
            expected.0, expected.1
        )));
    }
    Ok(())
}

/// A line with its household, for `UPSERT_ALL_SQL`.
#[derive(Serialize)]
struct HouseholdLine<'a> {
    household: &'a str,
    #[serde(flatten)]
    line: LineJson,
}

/// A line as `jsonb_to_recordset` reads it, and as `grocery_changes` keeps it.
#[derive(Debug, Serialize, Deserialize)]
struct LineJson {
    /// `None` for a line not yet stored.
    id: Option<i64>,
    name_key: String,
    family: String,
    name: String,
    quantity: Option<String>,
    unit: String,
    added_by: String,
    added_by_name: String,
    added_at: DateTime<Utc>,
    bought_by: Option<String>,
    bought_by_name: Option<String>,
    bought_at: Option<DateTime<Utc>>,
}

fn line_json(line: &ListedItem) -> LineJson {
    LineJson {
        id: (line.id != 0).then_some(line.id),
        name_key: line.key.clone(),
        family: line.family().key().to_owned(),
        name: line.name.clone(),
        quantity: line.quantity.map(|q| q.to_string()),
        unit: line.unit.key().to_owned(),
        added_by: line.added_by.clone(),
        added_by_name: line.added_by_name.clone(),
        added_at: line.added_at,
        bought_by: line.bought.as_ref().map(|b| b.by.clone()),
        bought_by_name: line.bought.as_ref().map(|b| b.by_name.clone()),
        bought_at: line.bought.as_ref().map(|b| b.at),
    }
}

fn to_json(lines: &[ListedItem]) -> Result<serde_json::Value, StoreError> {
    let lines: Vec<LineJson> = lines.iter().map(line_json).collect();
    serde_json::to_value(lines)
        .map_err(|error| StoreError::Other(format!("grocery lines to JSON: {error}")))
}

fn from_json(value: serde_json::Value) -> Result<Vec<ListedItem>, StoreError> {
    let lines: Vec<LineJson> = serde_json::from_value(value)
        .map_err(|error| StoreError::Other(format!("grocery_changes holds bad JSON: {error}")))?;
    lines
        .into_iter()
        .map(|line| {
            Ok(ListedItem {
                id: line.id.unwrap_or(0),
                key: line.name_key,
                name: line.name,
                quantity: quantity(line.quantity)?,
                unit: unit(&line.unit)?,
                added_by: line.added_by,
                added_by_name: line.added_by_name,
                added_at: line.added_at,
                bought: bought(line.bought_by, line.bought_by_name, line.bought_at),
            })
        })
        .collect()
}

fn listed(row: &Row) -> Result<ListedItem, StoreError> {
    Ok(ListedItem {
        id: row.try_get("id")?,
        key: row.try_get("name_key")?,
        name: row.try_get("name")?,
        quantity: quantity(row.try_get("quantity")?)?,
        unit: unit(row.try_get("unit")?)?,
        added_by: row.try_get("added_by")?,
        added_by_name: row.try_get("added_by_name")?,
        added_at: row.try_get("added_at")?,
        bought: bought(
            row.try_get("bought_by")?,
            row.try_get("bought_by_name")?,
            row.try_get("bought_at")?,
        ),
    })
}

fn quantity(text: Option<String>) -> Result<Option<Quantity>, StoreError> {
    text.map(|text| {
        Quantity::parse_decimal(&text).ok_or_else(|| {
            StoreError::Other(format!(
                "grocery line holds an unreadable quantity {text:?}"
            ))
        })
    })
    .transpose()
}

fn unit(key: &str) -> Result<Unit, StoreError> {
    Unit::from_key(key)
        .ok_or_else(|| StoreError::Other(format!("grocery line holds an unknown unit {key:?}")))
}

fn bought(
    by: Option<String>,
    by_name: Option<String>,
    at: Option<DateTime<Utc>>,
) -> Option<Bought> {
    match (by, by_name, at) {
        (Some(by), Some(by_name), Some(at)) => Some(Bought { by, by_name, at }),
        _ => None,
    }
}
