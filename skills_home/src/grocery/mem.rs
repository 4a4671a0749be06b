//! The shopping lists in ephemeral mode: the same rules as `grocery_items` in Postgres, kept in
//! the in-memory store's `grocery` slot.
//!
//! Every operation here is infallible once the slot is in hand, so an effect either changes the
//! slot completely or (when the slot cannot be had) not at all; the in-memory store also only
//! swaps in a transaction's slots on commit.

use std::collections::HashMap;

use super::model::{AddReport, Added, ItemSpec, ListedItem, RemoveReport, Who};
use super::quantity::Quantity;

/// The key of the grocery state in the in-memory store.
pub const SLOT: &str = "grocery";

/// Every household's list, in the order items were first added.
#[derive(Debug, Clone, Default)]
pub struct GroceryState {
    lists: HashMap<String, Vec<MemItem>>,
}

/// One row: the mirror of a `grocery_items` row.
#[derive(Debug, Clone)]
struct MemItem {
    key: String,
    item: ListedItem,
}

impl GroceryState {
    /// The household's list, oldest first.
    pub fn items(&self, household: &str) -> Vec<ListedItem> {
        self.lists
            .get(household)
            .map(|list| list.iter().map(|row| row.item.clone()).collect())
            .unwrap_or_default()
    }

    pub(crate) fn add(&mut self, household: &str, who: &Who, items: Vec<ItemSpec>) -> AddReport {
        let list = self.lists.entry(household.to_owned()).or_default();
        let mut report = Vec::with_capacity(items.len());
        for spec in items {
            let existing = list
                .iter_mut()
                .find(|row| row.key == spec.key && row.item.unit == spec.unit);
            match existing {
                None => {
                    list.push(MemItem {
                        key: spec.key.clone(),
                        item: ListedItem {
                            name: spec.name.clone(),
                            quantity: spec.quantity,
                            unit: spec.unit,
                            added_by: who.id.clone(),
                            added_by_name: who.name.clone(),
                        },
                    });
                    report.push(Added::New(spec));
                }
                Some(row) => {
                    row.item.quantity = Quantity::combine(row.item.quantity, spec.quantity);
                    report.push(classify(spec, row.item.clone()));
                }
            }
        }
        AddReport {
            items: report,
            total: list.len(),
        }
    }

    pub(crate) fn remove(&mut self, household: &str, items: Vec<ItemSpec>) -> RemoveReport {
        let list = self.lists.entry(household.to_owned()).or_default();
        let mut removed = Vec::new();
        let mut missing = Vec::new();
        for spec in items {
            let before = removed.len();
            list.retain(|row| {
                let hit = row.key == spec.key;
                if hit {
                    removed.push(row.item.clone());
                }
                !hit
            });
            if removed.len() == before {
                missing.push(spec);
            }
        }
        let remaining = list.len();
        if list.is_empty() {
            self.lists.remove(household);
        }
        RemoveReport {
            removed,
            missing,
            remaining,
        }
    }

    pub(crate) fn clear(&mut self, household: &str) -> usize {
        self.lists.remove(household).map_or(0, |list| list.len())
    }
}

/// What adding `spec` to an item already listed did, given the item as it now is. Shared with
/// the Postgres backend so both report alike.
pub(crate) fn classify(spec: ItemSpec, now: ListedItem) -> Added {
    if spec.quantity.is_none() {
        Added::AlreadyListed(now)
    } else {
        Added::Merged { added: spec, now }
    }
}
