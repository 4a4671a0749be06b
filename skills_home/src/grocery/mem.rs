//! The shopping lists in ephemeral mode: the same rows and history as `grocery_items` and
//! `grocery_changes` in Postgres, kept in the in-memory store's `grocery` slot.
//!
//! Every operation here is infallible once the slot is in hand, so an effect either changes the
//! slot completely or (when the slot cannot be had) not at all; the in-memory store also only
//! swaps in a transaction's slots on commit, which is what makes a change and its history
//! record commit together.

use std::collections::HashMap;

use super::plan::Plan;
use super::report::{Change, ListedItem};
use super::undo::DEPTH;

/// The key of the grocery state in the in-memory store.
pub const SLOT: &str = "grocery";

/// Every household's list (ordered by id, as in Postgres) and every member's undo history.
#[derive(Debug, Clone, Default)]
pub struct GroceryState {
    lists: HashMap<String, Vec<ListedItem>>,
    /// The last id handed out; ids are never reused, as with a Postgres sequence.
    last_id: i64,
    /// Per (household, member): their recorded changes, oldest first.
    changes: HashMap<(String, String), Vec<Change>>,
}

impl GroceryState {
    /// The household's list, in order of first addition.
    pub fn items(&self, household: &str) -> Vec<ListedItem> {
        self.lists.get(household).cloned().unwrap_or_default()
    }

    /// Deletes, then writes, as [`Plan`] says; the written lines as stored.
    pub(crate) fn write(&mut self, household: &str, plan: Plan) -> Vec<ListedItem> {
        let list = self.lists.entry(household.to_owned()).or_default();
        list.retain(|line| !plan.delete.contains(&line.id));
        let mut written = Vec::with_capacity(plan.upsert.len());
        for mut line in plan.upsert {
            if line.id == 0 {
                self.last_id += 1;
                line.id = self.last_id;
            }
            match list.iter_mut().find(|stored| stored.id == line.id) {
                Some(stored) => *stored = line.clone(),
                None => list.push(line.clone()),
            }
            written.push(line);
        }
        list.sort_by_key(|line| line.id);
        if list.is_empty() {
            self.lists.remove(household);
        }
        written
    }

    /// Appends to the member's history, keeping the last [`DEPTH`] changes.
    pub(crate) fn record(&mut self, household: &str, change: Change) {
        let history = self
            .changes
            .entry((household.to_owned(), change.actor.clone()))
            .or_default();
        history.push(change);
        let excess = history.len().saturating_sub(DEPTH);
        history.drain(..excess);
    }

    /// Takes the member's latest change off their history.
    pub(crate) fn pop(&mut self, household: &str, actor: &str) -> Option<Change> {
        let key = (household.to_owned(), actor.to_owned());
        let history = self.changes.get_mut(&key)?;
        let change = history.pop();
        if history.is_empty() {
            self.changes.remove(&key);
        }
        change
    }
}
