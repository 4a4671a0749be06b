//! What each command does to a household's list, decided in plain Rust over the lines as they
//! are — the same code for Postgres and the in-memory store, so both behave alike.
//!
//! A planner gets the household's lines (read under the household's lock) and returns a
//! [`Plan`] — the lines to delete and the lines to write — and a report of what that does.
//! Rules:
//!
//! * at most one *open* (not bought) line per item and unit family; an amount added to an item
//!   with an open line of its family is summed into it (see `convert`), one with no amount
//!   fills in an open line that has none ("milk" then "1 l milk" is 1 l milk);
//! * a bought line is never summed into: buying again is a new open line next to the ticked one;
//! * a line keeps who first added it, whoever adds to it later.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::convert;
use super::model::{ItemSpec, Who};
use super::report::{
    AddReport, Added, Bought, CheckOffReport, ClearBoughtReport, ListedItem, RemoveReport,
};

/// The writes of one change: delete these ids, then write these lines (id `0`: insert a new
/// line; otherwise update that line, or insert it again under its id when it is gone).
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    pub delete: Vec<i64>,
    pub upsert: Vec<ListedItem>,
}

impl Plan {
    /// Whether the plan changes nothing.
    pub fn is_empty(&self) -> bool {
        self.delete.is_empty() && self.upsert.is_empty()
    }
}

/// A plan and what it does.
#[derive(Debug)]
pub(crate) struct Planned<R> {
    pub plan: Plan,
    pub report: R,
}

/// Adds `items` (already folded by `merge_duplicates`) for `who`.
pub(crate) fn add(
    rows: &[ListedItem],
    who: &Who,
    now: DateTime<Utc>,
    items: Vec<ItemSpec>,
) -> Planned<AddReport> {
    let mut work = rows.to_vec();
    let mut touched = BTreeSet::new();
    let mut report = Vec::with_capacity(items.len());
    for spec in items {
        let open = |line: &ListedItem| line.key == spec.key && line.is_open();
        let outcome = match spec.quantity {
            None => match work.iter().find(|line| open(line)) {
                Some(line) => Added::AlreadyListed(line.clone()),
                None => {
                    work.push(new_line(&spec, who, now));
                    Added::New {
                        item: spec,
                        others: Vec::new(),
                    }
                }
            },
            Some(quantity) => {
                let summed = work.iter().position(|line| {
                    open(line) && line.quantity.is_some() && line.family() == spec_family(&spec)
                });
                let filled = || {
                    work.iter()
                        .position(|line| open(line) && line.quantity.is_none())
                };
                match summed.or_else(filled) {
                    Some(index) => {
                        let line = &mut work[index];
                        let (quantity, unit) = match line.quantity {
                            Some(existing) => {
                                convert::sum(existing, line.unit, quantity, spec.unit)
                                    .unwrap_or((existing, line.unit))
                            }
                            None => (quantity, spec.unit),
                        };
                        line.quantity = Some(quantity);
                        line.unit = unit;
                        if line.id != 0 {
                            touched.insert(index);
                        }
                        Added::Merged {
                            added: spec,
                            now: line.clone(),
                        }
                    }
                    None => {
                        let others = work.iter().filter(|line| open(line)).cloned().collect();
                        work.push(new_line(&spec, who, now));
                        Added::New { item: spec, others }
                    }
                }
            }
        };
        report.push(outcome);
    }
    let mut upsert: Vec<ListedItem> = touched.into_iter().map(|i| work[i].clone()).collect();
    upsert.extend(work.into_iter().skip(rows.len()));
    Planned {
        plan: Plan {
            delete: Vec::new(),
            upsert,
        },
        report: AddReport { items: report },
    }
}

/// Removes every line of each item, bought or not.
pub(crate) fn remove(rows: &[ListedItem], items: Vec<ItemSpec>) -> Planned<RemoveReport> {
    let removed: Vec<ListedItem> = rows
        .iter()
        .filter(|line| items.iter().any(|spec| spec.key == line.key))
        .cloned()
        .collect();
    let missing = items
        .into_iter()
        .filter(|spec| !removed.iter().any(|line| line.key == spec.key))
        .collect();
    Planned {
        plan: Plan {
            delete: removed.iter().map(|line| line.id).collect(),
            upsert: Vec::new(),
        },
        report: RemoveReport {
            remaining: rows.len() - removed.len(),
            removed,
            missing,
        },
    }
}

/// Ticks off every open line of each item.
pub(crate) fn check_off(
    rows: &[ListedItem],
    who: &Who,
    now: DateTime<Utc>,
    items: Vec<ItemSpec>,
) -> Planned<CheckOffReport> {
    let mut ticked = Vec::new();
    let mut left = Vec::new();
    let mut already = Vec::new();
    let mut missing = Vec::new();
    let bought = || Bought {
        by: who.id.clone(),
        by_name: who.name.clone(),
        at: now,
    };
    for spec in items {
        let lines: Vec<&ListedItem> = rows.iter().filter(|line| line.key == spec.key).collect();
        if lines.is_empty() {
            missing.push(spec);
        } else if lines.iter().all(|line| !line.is_open()) {
            already.extend(lines.into_iter().cloned());
        } else if let Some((part, rest)) = partly_bought(&lines, &spec, bought()) {
            // "got 1 kg apples" of 2 kg: the kilo bought becomes a ticked line of its own,
            // the open line keeps what is still to buy.
            ticked.push(part);
            left.push(rest);
        } else {
            // With an amount ("got 2 kg apples"), only the lines it can be of; without one, or
            // when none is, every open line of the item.
            let open: Vec<&ListedItem> = lines.into_iter().filter(|l| l.is_open()).collect();
            let same_family: Vec<&ListedItem> = match spec.quantity {
                Some(_) => open
                    .iter()
                    .copied()
                    .filter(|line| line.quantity.is_some() && line.family() == spec_family(&spec))
                    .collect(),
                None => Vec::new(),
            };
            let chosen = if same_family.is_empty() {
                open
            } else {
                same_family
            };
            ticked.extend(chosen.into_iter().map(|line| ListedItem {
                bought: Some(bought()),
                ..line.clone()
            }));
        }
    }
    let fully = ticked.len() - left.len();
    let to_buy = rows.iter().filter(|line| line.is_open()).count() - fully;
    Planned {
        plan: Plan {
            delete: Vec::new(),
            upsert: ticked.iter().chain(&left).cloned().collect(),
        },
        report: CheckOffReport {
            ticked,
            left,
            already,
            missing,
            to_buy,
        },
    }
}

/// A purchase of less than an open line holds: `(the part bought, as a new ticked line; the
/// open line with what is left)`. `None` when no amount was given, no open line of the item has
/// an amount of the same family, or the amount covers the whole line.
fn partly_bought(
    lines: &[&ListedItem],
    spec: &ItemSpec,
    bought: Bought,
) -> Option<(ListedItem, ListedItem)> {
    let taken = spec.quantity?;
    let line = lines.iter().find(|line| {
        line.is_open() && line.quantity.is_some() && line.family() == spec_family(spec)
    })?;
    let (rest, unit) = convert::difference(line.quantity?, line.unit, taken, spec.unit)?;
    let part = ListedItem {
        id: 0,
        quantity: Some(taken),
        unit: spec.unit,
        bought: Some(bought),
        ..(*line).clone()
    };
    let remaining = ListedItem {
        quantity: Some(rest),
        unit,
        ..(*line).clone()
    };
    Some((part, remaining))
}

/// Removes the bought lines.
pub(crate) fn clear_bought(rows: &[ListedItem]) -> Planned<ClearBoughtReport> {
    let removed: Vec<ListedItem> = rows.iter().filter(|l| !l.is_open()).cloned().collect();
    Planned {
        plan: Plan {
            delete: removed.iter().map(|line| line.id).collect(),
            upsert: Vec::new(),
        },
        report: ClearBoughtReport {
            remaining: rows.len() - removed.len(),
            removed,
        },
    }
}

/// Removes every line; the report is how many.
pub(crate) fn clear(rows: &[ListedItem]) -> Planned<usize> {
    Planned {
        plan: Plan {
            delete: rows.iter().map(|line| line.id).collect(),
            upsert: Vec::new(),
        },
        report: rows.len(),
    }
}

fn spec_family(spec: &ItemSpec) -> convert::Family {
    convert::Family::of(spec.unit)
}

fn new_line(spec: &ItemSpec, who: &Who, now: DateTime<Utc>) -> ListedItem {
    ListedItem {
        id: 0,
        key: spec.key.clone(),
        name: spec.name.clone(),
        quantity: spec.quantity,
        unit: spec.unit,
        added_by: who.id.clone(),
        added_by_name: who.name.clone(),
        added_at: now,
        bought: None,
    }
}
