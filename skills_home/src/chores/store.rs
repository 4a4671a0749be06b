//! Loading and saving chores in whichever store the message's transaction is on: Postgres
//! (tables `chores` and `chore_history`, `migrations/0004_chores.sql`) or the in-memory
//! store's [`SLOT`] in ephemeral mode. The stores only keep what the domain rules in
//! `model.rs` decide, so both behave alike by construction.

use std::collections::HashMap;

use alfred_actors::store::{StoreError, Tx};
use chrono::{DateTime, Utc};

use super::model::{Chore, HistoryEntry, NewChore};
use super::pg;

/// The key of the chores state in the in-memory store.
pub const SLOT: &str = "chores";

/// Every household's chores and history in ephemeral mode.
#[derive(Debug, Clone, Default)]
pub struct ChoreState {
    next_id: i64,
    households: HashMap<String, MemHousehold>,
}

#[derive(Debug, Clone, Default)]
struct MemHousehold {
    chores: Vec<Chore>,
    history: Vec<HistoryEntry>,
}

impl ChoreState {
    /// The household's chores, oldest first.
    pub fn chores(&self, household: &str) -> Vec<Chore> {
        self.households
            .get(household)
            .map(|h| h.chores.clone())
            .unwrap_or_default()
    }

    /// The household's history, in the order recorded.
    pub fn history(&self, household: &str) -> Vec<HistoryEntry> {
        self.households
            .get(household)
            .map(|h| h.history.clone())
            .unwrap_or_default()
    }
}

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
        Tx::Mem(mem) => {
            let state = mem.slot::<ChoreState>(SLOT)?;
            let id = state.next_id + 1;
            let chore = chore.into_chore(id).ok_or_else(out_of_range)?;
            let home = state.households.entry(household.to_owned()).or_default();
            if home.chores.iter().any(|c| c.key == chore.key) {
                return Ok(None);
            }
            state.next_id = id;
            home.chores.push(chore.clone());
            Ok(Some(chore))
        }
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
        Tx::Mem(mem) => {
            let stored = mem
                .slot::<ChoreState>(SLOT)?
                .households
                .get_mut(household)
                .and_then(|h| h.chores.iter_mut().find(|c| c.id == chore.id))
                .ok_or_else(|| StoreError::Other(format!("chore {} vanished", chore.id)))?;
            *stored = chore.clone();
            Ok(())
        }
    }
}

/// Removes a chore and its history.
pub(crate) async fn remove(tx: &mut Tx<'_>, household: &str, id: i64) -> Result<(), StoreError> {
    match tx {
        Tx::Pg(pg) => pg::remove(pg, household, id).await,
        Tx::Mem(mem) => {
            if let Some(home) = mem.slot::<ChoreState>(SLOT)?.households.get_mut(household) {
                home.chores.retain(|c| c.id != id);
                home.history.retain(|e| e.chore_id != id);
            }
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
            mem.slot::<ChoreState>(SLOT)?
                .households
                .entry(household.to_owned())
                .or_default()
                .history
                .push(entry.clone());
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
            .households
            .get(household)
            .and_then(|h| h.history.iter().rev().find(|e| e.chore_id == chore_id))
            .cloned()),
    }
}

/// A date past what the calendar can hold: only reachable with absurd input.
pub(crate) fn out_of_range() -> StoreError {
    StoreError::Other("chore date out of the calendar's range".to_owned())
}
