//! Loading and saving chores in whichever store the message's transaction is on: one function
//! per operation, each dispatching to `pg` (tables `chores` and `chore_history`,
//! `migrations/0004_chores.sql`) or `mem` (the in-memory store's slot in ephemeral mode). The
//! stores only keep what the domain rules in `model.rs` decide, so both behave alike by
//! construction.

use alfred_actors::store::{StoreError, Tx};
use chrono::{DateTime, Utc};

use super::mem::{ChoreState, SLOT};
use super::model::{Chore, HistoryEntry, NewChore};
use super::pg;

/// The household's chores, oldest first. With `lock`, Postgres holds their rows until the
/// transaction ends, so two members changing the same chore at once are applied one after
/// the other instead of one overwriting the other.
pub(crate) async fn chores(
    tx: &mut Tx<'_>,
    household: &str,
    lock: bool,
) -> Result<Vec<Chore>, StoreError> {
    match tx {
        Tx::Pg(pg) => pg::chores(pg, household, lock).await,
        Tx::Mem(mem) => Ok(mem.slot::<ChoreState>(SLOT)?.chores(household)),
    }
}

/// Adds a chore; `None` when the household already has one of that name.
pub(crate) async fn insert(
    tx: &mut Tx<'_>,
    household: &str,
    chore: NewChore,
    created_by: &str,
    now: DateTime<Utc>,
) -> Result<Option<Chore>, StoreError> {
    match tx {
        Tx::Pg(pg) => pg::insert(pg, household, chore, created_by, now).await,
        Tx::Mem(mem) => mem.slot::<ChoreState>(SLOT)?.insert(household, chore),
    }
}

/// Saves a chore's pending occurrence and rotation state.
pub(crate) async fn save(
    tx: &mut Tx<'_>,
    household: &str,
    chore: &Chore,
) -> Result<(), StoreError> {
    match tx {
        Tx::Pg(pg) => pg::save(pg, household, chore).await,
        Tx::Mem(mem) => mem.slot::<ChoreState>(SLOT)?.save(household, chore),
    }
}

/// Removes a chore and its history.
pub(crate) async fn remove(tx: &mut Tx<'_>, household: &str, id: i64) -> Result<(), StoreError> {
    match tx {
        Tx::Pg(pg) => pg::remove(pg, household, id).await,
        Tx::Mem(mem) => {
            mem.slot::<ChoreState>(SLOT)?.remove(household, id);
            Ok(())
        }
    }
}

/// Appends one occurrence's outcome to the history.
pub(crate) async fn record(
    tx: &mut Tx<'_>,
    household: &str,
    entry: &HistoryEntry,
) -> Result<(), StoreError> {
    match tx {
        Tx::Pg(pg) => pg::record(pg, household, entry).await,
        Tx::Mem(mem) => {
            mem.slot::<ChoreState>(SLOT)?.record(household, entry);
            Ok(())
        }
    }
}

/// The household's history, in the order recorded.
pub(crate) async fn history(
    tx: &mut Tx<'_>,
    household: &str,
) -> Result<Vec<HistoryEntry>, StoreError> {
    match tx {
        Tx::Pg(pg) => pg::history(pg, household).await,
        Tx::Mem(mem) => Ok(mem.slot::<ChoreState>(SLOT)?.history(household)),
    }
}

/// The chore's most recent history entry.
pub(crate) async fn last_entry(
    tx: &mut Tx<'_>,
    household: &str,
    chore_id: i64,
) -> Result<Option<HistoryEntry>, StoreError> {
    match tx {
        Tx::Pg(pg) => pg::last_entry(pg, household, chore_id).await,
        Tx::Mem(mem) => Ok(mem
            .slot::<ChoreState>(SLOT)?
            .last_entry(household, chore_id)),
    }
}
