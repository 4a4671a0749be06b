//! Undo: every change to a list is recorded with the lines it touched, before and after, in
//! the same transaction as the change itself (table `grocery_changes`, or the in-memory
//! history). "undo" takes the sender's latest recorded change off their history and puts those
//! lines back exactly as they were — quantities, who added them, when, and whether and by whom
//! they were bought — under their old ids, so they return to their old places in the list.
//!
//! * Only the sender's own changes are undone; each member has their own history, the last
//!   [`DEPTH`] changes deep. "undo" again undoes the change before that. An undo is not itself
//!   recorded (undo is not redo).
//! * A command that changed nothing (an item already listed, a remove of an item not listed, a
//!   list) records nothing, so undo reverts the last command that did something.
//! * Someone may have changed the same lines since (Sam added to the apples Dana added). Then
//!   reverting would silently throw Sam's change away, so the undo changes nothing, says which
//!   lines changed, and drops the change from the sender's history, so that the next "undo"
//!   moves on to the one before.

use std::collections::HashSet;

use super::plan::Plan;
use super::report::{Change, ListedItem};

/// How many changes per member and household are kept for undo.
pub const DEPTH: usize = 20;

/// The writes that revert `change` on the list `rows`, or the names of the lines that changed
/// since (so it cannot be reverted safely).
pub(crate) fn revert(rows: &[ListedItem], change: &Change) -> Result<Plan, Vec<String>> {
    let mut changed: Vec<String> = Vec::new();
    let mut note = |name: &str| {
        if !changed.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            changed.push(name.to_owned());
        }
    };
    for after in &change.after {
        if rows.iter().find(|line| line.id == after.id) != Some(after) {
            note(&after.name);
        }
    }
    let before_ids: HashSet<i64> = change.before.iter().map(|line| line.id).collect();
    let delete: Vec<i64> = change
        .after
        .iter()
        .map(|line| line.id)
        .filter(|id| !before_ids.contains(id))
        .collect();
    // A line put back open must not meet another open line of its item and family that was
    // added since (the list keeps one open line per item and family).
    for restored in change.before.iter().filter(|line| line.is_open()) {
        let clash = rows.iter().any(|line| {
            line.id != restored.id
                && !delete.contains(&line.id)
                && !before_ids.contains(&line.id)
                && line.is_open()
                && line.key == restored.key
                && line.family() == restored.family()
        });
        if clash {
            note(&restored.name);
        }
    }
    if !changed.is_empty() {
        return Err(changed);
    }
    Ok(Plan {
        delete,
        upsert: change.before.clone(),
    })
}
