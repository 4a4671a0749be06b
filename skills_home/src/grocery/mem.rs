//! The shopping lists in ephemeral mode: the same rows and history as `grocery_items` and
//! `grocery_changes` in Postgres, kept in the in-memory store's `grocery` slot.
//!
//! Every operation here is infallible once the slot is in hand, so an effect either changes the
//! slot completely or (when the slot cannot be had) not at all; the in-memory store also only
//! swaps in a transaction's slots on commit, which is what makes a change and its history
//! record commit together.

use std::collections::{HashMap, VecDeque};

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
    /// Ids drawn from Postgres' sequence ahead of a batch (see `batch`), handed out in order
    /// instead of counting on from `last_id`; `None` in the in-memory store.
    reserved: Option<VecDeque<i64>>,
    /// A new line found no reserved id left: the state must not be written.
    short_of_ids: bool,
}

impl GroceryState {
    /// The household's list, in order of first addition.
    pub fn items(&self, household: &str) -> Vec<ListedItem> {
        self.lists.get(household).cloned().unwrap_or_default()
    }

    /// Deletes, then writes, as [`Plan`] says; the written lines as stored.
    pub(crate) fn write(&mut self, household: &str, plan: Plan) -> Vec<ListedItem> {
        let mut upsert = plan.upsert;
        for line in upsert.iter_mut().filter(|line| line.id == 0) {
            line.id = self.next_id();
        }
        let list = self.lists.entry(household.to_owned()).or_default();
        list.retain(|line| !plan.delete.contains(&line.id));
        let mut written = Vec::with_capacity(upsert.len());
        for line in upsert {
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

    /// A new line's id: the next reserved one, else one more than the last.
    fn next_id(&mut self) -> i64 {
        match self.reserved.as_mut() {
            Some(reserved) => reserved.pop_front().unwrap_or_else(|| {
                self.short_of_ids = true;
                0
            }),
            None => {
                self.last_id += 1;
                self.last_id
            }
        }
    }

    /// A scratch state for planning a batch: `lists` as loaded from Postgres, new lines under
    /// the `reserved` ids (drawn from Postgres' sequence, ascending), no history.
    pub(crate) fn planning(lists: HashMap<String, Vec<ListedItem>>, reserved: Vec<i64>) -> Self {
        GroceryState {
            lists,
            last_id: 0,
            changes: HashMap::new(),
            reserved: Some(reserved.into()),
            short_of_ids: false,
        }
    }

    /// Whether a new line found no reserved id left (see [`GroceryState::planning`]).
    pub(crate) fn short_of_ids(&self) -> bool {
        self.short_of_ids
    }

    /// Every recorded change, with its household, by household and member, each member's
    /// oldest first; the history is left empty.
    pub(crate) fn take_changes(&mut self) -> Vec<(String, Change)> {
        let mut changes: Vec<_> = self.changes.drain().collect();
        changes.sort_by(|(a, _), (b, _)| a.cmp(b));
        changes
            .into_iter()
            .flat_map(|((household, _), history)| {
                history
                    .into_iter()
                    .map(move |change| (household.clone(), change))
            })
            .collect()
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
