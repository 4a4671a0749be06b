//! The list's rows and what a command did to them.
//!
//! A [`ListedItem`] is one line of a household's list, the same in Postgres and in memory.
//! The reports say what applying a command actually changed; replies are rendered from them
//! alone, so a reply never claims what did not happen.

use chrono::{DateTime, Utc};

use super::category::Category;
use super::convert::Family;
use super::model::ItemSpec;
use super::quantity::{Quantity, Unit};

/// One line of the list, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedItem {
    /// The row id; orders the list by first addition. `0` for a line not yet stored.
    pub id: i64,
    /// The matching key of the name (see [`name_key`](super::model::name_key)).
    pub key: String,
    /// The name as first typed.
    pub name: String,
    /// `None` when none was given ("add milk"); the unit is then [`Unit::Count`].
    pub quantity: Option<Quantity>,
    pub unit: Unit,
    /// Platform id of whoever added the line.
    pub added_by: String,
    /// Display name of whoever added the line.
    pub added_by_name: String,
    pub added_at: DateTime<Utc>,
    /// Set once someone ticked it off ("got milk").
    pub bought: Option<Bought>,
}

/// Who ticked a line off, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bought {
    pub by: String,
    pub by_name: String,
    pub at: DateTime<Utc>,
}

impl ListedItem {
    /// `2 kg apples`, `milk`.
    pub fn render(&self) -> String {
        self.unit.render(self.quantity, &self.name)
    }

    /// The unit family; at most one open (not bought) line per name and family.
    pub fn family(&self) -> Family {
        Family::of(self.unit)
    }

    /// The aisle the line is listed under.
    pub fn category(&self) -> Category {
        Category::of(&self.key)
    }

    /// Whether the line is still to be bought.
    pub fn is_open(&self) -> bool {
        self.bought.is_none()
    }
}

/// What happened to one item of an add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Added {
    /// It is a new line; `others` are the open lines of the same item in units it does not
    /// convert to ("3 apples" next to "2 kg apples").
    New {
        item: ItemSpec,
        others: Vec<ListedItem>,
    },
    /// It was summed into an open line, which is now `now`.
    Merged { added: ItemSpec, now: ListedItem },
    /// It was on the list and the message gave no quantity: nothing changed.
    AlreadyListed(ListedItem),
}

/// What an add did, item by item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddReport {
    pub items: Vec<Added>,
}

/// What a remove did and the list's length afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoveReport {
    /// Every removed line (one name may have several).
    pub removed: Vec<ListedItem>,
    /// The requested items that were not on the list, as typed.
    pub missing: Vec<ItemSpec>,
    pub remaining: usize,
}

/// What a check-off did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOffReport {
    /// Lines ticked off by this message (for a partial purchase, the part bought).
    pub ticked: Vec<ListedItem>,
    /// Lines only partly bought ("got 1 kg apples" of 2 kg): what is still to buy.
    pub left: Vec<ListedItem>,
    /// Requested items whose lines were all ticked already.
    pub already: Vec<ListedItem>,
    /// Requested items not on the list, as typed.
    pub missing: Vec<ItemSpec>,
    /// Open lines left afterwards.
    pub to_buy: usize,
}

/// What "clear bought" did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClearBoughtReport {
    pub removed: Vec<ListedItem>,
    pub remaining: usize,
}

/// What an undo did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UndoReport {
    /// The sender has no change left to undo.
    Nothing,
    /// The change described by `summary` was reverted.
    Undone { summary: String },
    /// The change could not be reverted because these lines changed since; it was dropped
    /// from the sender's history, and the list left as it is.
    Conflict {
        summary: String,
        changed: Vec<String>,
    },
}

/// One recorded change, for undo: the affected lines before and after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Platform id of the sender who made it.
    pub actor: String,
    /// What it did, as the undo reply names it: "added 2 kg apples".
    pub summary: String,
    pub at: DateTime<Utc>,
    /// The lines it updated or deleted, as they were.
    pub before: Vec<ListedItem>,
    /// The lines it updated or inserted, as they became.
    pub after: Vec<ListedItem>,
}
