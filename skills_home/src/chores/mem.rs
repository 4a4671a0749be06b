//! Chores in ephemeral mode: the same rows as `chores` and `chore_history` in Postgres, kept in
//! the in-memory store's [`SLOT`]. The in-memory store swaps in a transaction's slots only on
//! commit, so a change and its history entry commit together, as in Postgres.

use std::collections::HashMap;

use alfred_actors::store::StoreError;

use super::model::{out_of_range, Chore, HistoryEntry, NewChore};

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

    /// Adds a chore; `None` when the household already has one of that name.
    pub(crate) fn insert(
        &mut self,
        household: &str,
        chore: NewChore,
    ) -> Result<Option<Chore>, StoreError> {
        let id = self.next_id + 1;
        let chore = chore.into_chore(id).ok_or_else(out_of_range)?;
        let home = self.households.entry(household.to_owned()).or_default();
        if home.chores.iter().any(|c| c.key == chore.key) {
            return Ok(None);
        }
        self.next_id = id;
        home.chores.push(chore.clone());
        Ok(Some(chore))
    }

    /// Saves a chore's pending occurrence and rotation state.
    pub(crate) fn save(&mut self, household: &str, chore: &Chore) -> Result<(), StoreError> {
        let stored = self
            .households
            .get_mut(household)
            .and_then(|h| h.chores.iter_mut().find(|c| c.id == chore.id))
            .ok_or_else(|| StoreError::Other(format!("chore {} vanished", chore.id)))?;
        *stored = chore.clone();
        Ok(())
    }

    /// Removes a chore and its history.
    pub(crate) fn remove(&mut self, household: &str, id: i64) {
        if let Some(home) = self.households.get_mut(household) {
            home.chores.retain(|c| c.id != id);
            home.history.retain(|e| e.chore_id != id);
        }
    }

    /// Appends one occurrence's outcome to the history.
    pub(crate) fn record(&mut self, household: &str, entry: &HistoryEntry) {
        self.households
            .entry(household.to_owned())
            .or_default()
            .history
            .push(entry.clone());
    }

    /// The chore's most recent history entry.
    pub(crate) fn last_entry(&self, household: &str, chore_id: i64) -> Option<HistoryEntry> {
        self.households
            .get(household)
            .and_then(|h| h.history.iter().rev().find(|e| e.chore_id == chore_id))
            .cloned()
    }
}
