//! Chores in Postgres: tables `chores` and `chore_history` (`migrations/0004_chores.sql`).
//! Everything runs inside the message's transaction, opened by the orchestrator.

use alfred_actors::store::StoreError;
use chrono::{DateTime, Utc};
use tokio_postgres::{Row, Transaction};

use super::model::{out_of_range, Chore, HistoryEntry, NewChore, Outcome};
use super::recurrence::Recurrence;

const COLUMNS: &str = "id, name, name_key, recurrence, start_date, members, turn, cover, \
                       payback_from, payback_to, due_date";

pub(crate) async fn chores(
    tx: &Transaction<'_>,
    household: &str,
    lock: bool,
) -> Result<Vec<Chore>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM chores WHERE household = $1 ORDER BY id{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let rows = tx.query(&sql, &[&household]).await?;
    rows.iter().map(chore).collect()
}

pub(crate) async fn insert(
    tx: &Transaction<'_>,
    household: &str,
    new: NewChore,
    created_by: &str,
    now: DateTime<Utc>,
) -> Result<Option<Chore>, StoreError> {
    // Computed with a placeholder id, then stored; the row's id replaces it.
    let draft = new.into_chore(0).ok_or_else(out_of_range)?;
    let sql = format!(
        "INSERT INTO chores (household, name_key, name, recurrence, start_date, members, turn,
                             due_date, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9)
         ON CONFLICT (household, name_key) DO NOTHING
         RETURNING {COLUMNS}"
    );
    let row = tx
        .query_opt(
            &sql,
            &[
                &household,
                &draft.key,
                &draft.name,
                &draft.recurrence.key(),
                &draft.start,
                &draft.members,
                &draft.due,
                &created_by,
                &now,
            ],
        )
        .await?;
    row.as_ref().map(chore).transpose()
}

pub(crate) async fn save(
    tx: &Transaction<'_>,
    household: &str,
    chore: &Chore,
) -> Result<(), StoreError> {
    let turn = i32::try_from(chore.turn)
        .map_err(|_| StoreError::Other(format!("chore turn {} out of range", chore.turn)))?;
    let (from, to): (Vec<&str>, Vec<&str>) = chore
        .payback
        .iter()
        .map(|(from, to)| (from.as_str(), to.as_str()))
        .unzip();
    let updated = tx
        .execute(
            "UPDATE chores SET turn = $3, cover = $4, payback_from = $5, payback_to = $6,
                               due_date = $7
             WHERE household = $1 AND id = $2",
            &[
                &household,
                &chore.id,
                &turn,
                &chore.cover,
                &from,
                &to,
                &chore.due,
            ],
        )
        .await?;
    if updated == 1 {
        Ok(())
    } else {
        Err(StoreError::Other(format!("chore {} vanished", chore.id)))
    }
}

pub(crate) async fn remove(
    tx: &Transaction<'_>,
    household: &str,
    id: i64,
) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM chores WHERE household = $1 AND id = $2",
        &[&household, &id],
    )
    .await?;
    Ok(())
}

pub(crate) async fn record(
    tx: &Transaction<'_>,
    household: &str,
    entry: &HistoryEntry,
) -> Result<(), StoreError> {
    tx.execute(
        "INSERT INTO chore_history (household, chore_id, due_date, assignee, outcome, done_by,
                                    on_time, local_date, recorded_at, recorded_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &household,
            &entry.chore_id,
            &entry.due,
            &entry.assignee,
            &entry.outcome.key(),
            &entry.done_by,
            &entry.on_time,
            &entry.local_date,
            &entry.recorded_at,
            &entry.recorded_by,
        ],
    )
    .await?;
    Ok(())
}

const HISTORY_COLUMNS: &str = "chore_id, due_date, assignee, outcome, done_by, on_time, \
                               local_date, recorded_at, recorded_by";

pub(crate) async fn history(
    tx: &Transaction<'_>,
    household: &str,
) -> Result<Vec<HistoryEntry>, StoreError> {
    let sql =
        format!("SELECT {HISTORY_COLUMNS} FROM chore_history WHERE household = $1 ORDER BY id");
    let rows = tx.query(&sql, &[&household]).await?;
    rows.iter().map(entry).collect()
}

pub(crate) async fn last_entry(
    tx: &Transaction<'_>,
    household: &str,
    chore_id: i64,
) -> Result<Option<HistoryEntry>, StoreError> {
    let sql = format!(
        "SELECT {HISTORY_COLUMNS} FROM chore_history WHERE household = $1 AND chore_id = $2
         ORDER BY id DESC LIMIT 1"
    );
    let row = tx.query_opt(&sql, &[&household, &chore_id]).await?;
    row.as_ref().map(entry).transpose()
}

fn entry(row: &Row) -> Result<HistoryEntry, StoreError> {
    let outcome: String = row.try_get("outcome")?;
    Ok(HistoryEntry {
        chore_id: row.try_get("chore_id")?,
        due: row.try_get("due_date")?,
        assignee: row.try_get("assignee")?,
        outcome: Outcome::from_key(&outcome).ok_or_else(|| {
            StoreError::Other(format!(
                "chore_history holds an unknown outcome {outcome:?}"
            ))
        })?,
        done_by: row.try_get("done_by")?,
        on_time: row.try_get("on_time")?,
        local_date: row.try_get("local_date")?,
        recorded_at: row.try_get("recorded_at")?,
        recorded_by: row.try_get("recorded_by")?,
    })
}

fn chore(row: &Row) -> Result<Chore, StoreError> {
    let recurrence: String = row.try_get("recurrence")?;
    let turn: i32 = row.try_get("turn")?;
    let from: Vec<String> = row.try_get("payback_from")?;
    let to: Vec<String> = row.try_get("payback_to")?;
    Ok(Chore {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        key: row.try_get("name_key")?,
        recurrence: Recurrence::from_key(&recurrence).ok_or_else(|| {
            StoreError::Other(format!("chores holds an unknown recurrence {recurrence:?}"))
        })?,
        start: row.try_get("start_date")?,
        members: row.try_get("members")?,
        turn: usize::try_from(turn)
            .map_err(|_| StoreError::Other(format!("chores holds a negative turn {turn}")))?,
        cover: row.try_get("cover")?,
        payback: from.into_iter().zip(to).collect(),
        due: row.try_get("due_date")?,
    })
}
