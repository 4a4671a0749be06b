//! Reading the briefing's sources, each on its own so that one failing does not sink the rest.
//!
//! On Postgres a failed statement aborts the whole transaction: every later statement fails
//! with "current transaction is aborted". So each source runs inside its own `SAVEPOINT`; when
//! its query fails, the savepoint is rolled back, the source is marked unavailable, and the
//! next source reads in a healthy transaction. The in-memory store has no such state to poison.
//!
//! A store that cannot be reached at all (see [`StoreError::is_unavailable`]) is not one
//! failing source: the whole run fails and is tried again, rather than sending a briefing in
//! which every section is "unavailable".

use alfred_actors::store::{StoreError, Tx};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::model::Briefing;
use crate::chores::{self, local_today};
use crate::grocery;

/// Reads every source of `household`'s briefing at `now`, in its time zone `tz`.
pub async fn gather(
    tx: &mut Tx<'_>,
    household: &str,
    now: DateTime<Utc>,
    tz: Tz,
) -> Result<Briefing, StoreError> {
    savepoint(tx, "SAVEPOINT briefing_chores").await?;
    let due = chores::chores_due_today(tx, household, now, tz).await;
    let due = settle(tx, "briefing_chores", "chores", due).await?;

    savepoint(tx, "SAVEPOINT briefing_shopping").await?;
    let items = grocery::items(tx, household).await;
    let items = settle(tx, "briefing_shopping", "shopping list", items).await?;

    savepoint(tx, "SAVEPOINT briefing_reminders").await?;
    let set_today = crate::reminders::reminders_today(tx, household, now, tz).await;
    let set_today = settle(tx, "briefing_reminders", "reminders", set_today).await?;

    let (chores_today, overdue) = match due {
        Some(due) => {
            let (today, overdue): (Vec<_>, Vec<_>) =
                due.into_iter().partition(|d| d.days_overdue == 0);
            (Some(today), Some(overdue))
        }
        None => (None, None),
    };
    Ok(Briefing {
        date: local_today(now, tz),
        chores_today,
        reminders: overdue,
        set_today,
        shopping: items.map(|items| items.into_iter().filter(|i| i.is_open()).collect()),
    })
}

/// Runs `sql` on Postgres; nothing to do in memory.
async fn savepoint(tx: &mut Tx<'_>, sql: &str) -> Result<(), StoreError> {
    if let Tx::Pg(transaction) = tx {
        transaction.batch_execute(sql).await?;
    }
    Ok(())
}

/// Ends the savepoint `name` after its source read `result`: released when it worked, rolled
/// back (and the source marked unavailable with `None`) when its query failed.
async fn settle<T>(
    tx: &mut Tx<'_>,
    name: &str,
    source: &str,
    result: Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    match result {
        Ok(value) => {
            savepoint(tx, &format!("RELEASE SAVEPOINT {name}")).await?;
            Ok(Some(value))
        }
        Err(error) if error.is_unavailable() => Err(error),
        Err(error) => {
            tracing::warn!(%error, source, "A briefing source failed; it is marked unavailable.");
            savepoint(
                tx,
                &format!("ROLLBACK TO SAVEPOINT {name}; RELEASE SAVEPOINT {name}"),
            )
            .await?;
            Ok(None)
        }
    }
}
