//! Every text the shopping list sends, rendered only from what a command actually did (the
//! reports), so a reply never claims what did not happen. Kept in this one module so that the
//! move from reply strings to typed replies touches one place.

use std::collections::BTreeMap;

use super::category::Category;
use super::model::ItemSpec;
use super::report::{
    AddReport, Added, CheckOffReport, ClearBoughtReport, ListedItem, RemoveReport, UndoReport,
};

/// "Added milk and eggs to the shopping list. Apples: now 2.5 kg on the list."
pub(crate) fn added(report: &AddReport) -> String {
    let mut plain = Vec::new();
    let mut sentences = Vec::new();
    let mut unchanged = Vec::new();
    for item in &report.items {
        match item {
            Added::New { item, others } if others.is_empty() => plain.push(item.render()),
            Added::New { item, others } => {
                let others: Vec<String> = others.iter().map(ListedItem::render).collect();
                sentences.push(format!(
                    "Added {} (you also have {} on the list).",
                    item.render(),
                    join(&others)
                ));
            }
            Added::Merged { now, .. } => sentences.push(format!(
                "{}: now {} on the list.",
                capitalized(&now.name),
                amount(now)
            )),
            Added::AlreadyListed(now) => unchanged.push(now.render()),
        }
    }
    if !plain.is_empty() {
        sentences.insert(0, format!("Added {} to the shopping list.", join(&plain)));
    }
    if !unchanged.is_empty() {
        let verb = if unchanged.len() == 1 { "is" } else { "are" };
        sentences.push(capitalized(&format!(
            "{} {verb} already on the list.",
            join(&unchanged)
        )));
    }
    sentences.join(" ")
}

/// What an add changed, for undo: "added milk and 500 g apples"; `None` when nothing changed.
pub(crate) fn added_summary(report: &AddReport) -> Option<String> {
    let changed: Vec<String> = report
        .items
        .iter()
        .filter_map(|item| match item {
            Added::New { item, .. } | Added::Merged { added: item, .. } => Some(item.render()),
            Added::AlreadyListed(_) => None,
        })
        .collect();
    (!changed.is_empty()).then(|| format!("added {}", join(&changed)))
}

/// "Removed milk from the shopping list. 2 items left." / "Milk isn't on the list."
pub(crate) fn removed(report: &RemoveReport) -> String {
    let mut sentences = Vec::new();
    if !report.removed.is_empty() {
        sentences.push(format!(
            "Removed {} from the shopping list.",
            rendered(&report.removed)
        ));
    }
    if !report.missing.is_empty() {
        sentences.push(not_on_list(&report.missing));
    }
    if !report.removed.is_empty() {
        sentences.push(left(report.remaining));
    }
    sentences.join(" ")
}

/// For undo: "removed milk".
pub(crate) fn removed_summary(report: &RemoveReport) -> String {
    format!("removed {}", rendered(&report.removed))
}

/// "Ticked off milk. 3 items left to buy." / "Bread was already ticked off."
pub(crate) fn checked_off(report: &CheckOffReport) -> String {
    let mut sentences = Vec::new();
    if !report.ticked.is_empty() {
        sentences.push(format!("Ticked off {}.", rendered(&report.ticked)));
    }
    for line in &report.left {
        sentences.push(format!(
            "{}: {} still to buy.",
            capitalized(&line.name),
            amount(line)
        ));
    }
    if !report.already.is_empty() {
        let verb = if report.already.len() == 1 {
            "was"
        } else {
            "were"
        };
        sentences.push(capitalized(&format!(
            "{} {verb} already ticked off.",
            rendered(&report.already)
        )));
    }
    if !report.missing.is_empty() {
        sentences.push(not_on_list(&report.missing));
    }
    if !report.ticked.is_empty() {
        sentences.push(match report.to_buy {
            0 => "That's everything on the list.".to_owned(),
            1 => "1 item left to buy.".to_owned(),
            n => format!("{n} items left to buy."),
        });
    }
    sentences.join(" ")
}

/// For undo: "ticked off milk".
pub(crate) fn checked_off_summary(report: &CheckOffReport) -> String {
    format!("ticked off {}", rendered(&report.ticked))
}

/// "Cleared 2 bought items (milk and eggs). 3 items left."
pub(crate) fn cleared_bought(report: &ClearBoughtReport) -> String {
    if report.removed.is_empty() {
        return "Nothing on the list is ticked off.".to_owned();
    }
    format!(
        "Cleared {} ({}). {}",
        bought_items(report.removed.len()),
        rendered(&report.removed),
        left(report.remaining)
    )
}

/// For undo: "cleared 2 bought items".
pub(crate) fn cleared_bought_summary(report: &ClearBoughtReport) -> String {
    format!("cleared {}", bought_items(report.removed.len()))
}

/// "Cleared the shopping list (5 items removed)." / "The shopping list is already empty."
pub(crate) fn cleared(count: usize) -> String {
    match count {
        0 => "The shopping list is already empty.".to_owned(),
        n => format!("Cleared the shopping list ({} removed).", items(n)),
    }
}

/// For undo: "cleared the list of 5 items".
pub(crate) fn cleared_summary(count: usize) -> String {
    format!("cleared the list of {}", items(count))
}

/// "Undid your last change (added 500 g apples)."
pub(crate) fn undone(report: &UndoReport) -> String {
    match report {
        UndoReport::Nothing => "There's nothing of yours to undo on the shopping list.".to_owned(),
        UndoReport::Undone { summary } => format!("Undid your last change ({summary})."),
        UndoReport::Conflict { summary, changed } => format!(
            "Couldn't undo your last change ({summary}): {} changed since, so I left the \
             list as it is.",
            join(changed)
        ),
    }
}

/// The list by aisle, each line with who added it, bought lines ticked and struck through:
///
/// ```text
/// Shopping list (3 items, 1 bought):
/// *Produce*
/// • 2.5 kg apples (Dana)
/// *Dairy & eggs*
/// ✓ ~milk~ (Sam)
/// • 12 eggs (Dana)
/// ```
pub(crate) fn listing(lines: &[ListedItem]) -> String {
    if lines.is_empty() {
        return "The shopping list is empty.".to_owned();
    }
    let bought = lines.iter().filter(|line| !line.is_open()).count();
    let mut text = match bought {
        0 => format!("Shopping list ({}):", items(lines.len())),
        n => format!("Shopping list ({}, {n} bought):", items(lines.len())),
    };
    let mut aisles: BTreeMap<Category, Vec<&ListedItem>> = BTreeMap::new();
    for line in lines {
        aisles.entry(line.category()).or_default().push(line);
    }
    for (category, mut lines) in aisles {
        lines.sort_by_key(|line| line.id);
        text.push_str(&format!("\n*{}*", category.title()));
        for line in lines {
            let shown = if line.is_open() {
                format!("• {}", line.render())
            } else {
                format!("✓ ~{}~", line.render())
            };
            text.push_str(&format!("\n{shown} ({})", line.added_by_name));
        }
    }
    text
}

/// The answer to a text routed here that the grammar does not understand.
pub(crate) fn not_understood(help: &[&str]) -> String {
    format!(
        "Sorry, I didn't get that. Try: {}.",
        help.iter()
            .map(|line| line.split(" — ").next().unwrap_or(line))
            .collect::<Vec<_>>()
            .join("; ")
    )
}

fn amount(line: &ListedItem) -> String {
    match line.quantity {
        Some(quantity) => line.unit.render_amount(quantity),
        None => line.render(),
    }
}

fn not_on_list(missing: &[ItemSpec]) -> String {
    let names: Vec<String> = missing.iter().map(|spec| spec.name.clone()).collect();
    let verb = if names.len() == 1 { "isn't" } else { "aren't" };
    capitalized(&format!("{} {verb} on the list.", join(&names)))
}

fn left(remaining: usize) -> String {
    match remaining {
        0 => "The shopping list is now empty.".to_owned(),
        n => format!("{} left.", items(n)),
    }
}

fn rendered(lines: &[ListedItem]) -> String {
    join(&lines.iter().map(ListedItem::render).collect::<Vec<_>>())
}

fn bought_items(n: usize) -> String {
    if n == 1 {
        "1 bought item".to_owned()
    } else {
        format!("{n} bought items")
    }
}

fn items(n: usize) -> String {
    if n == 1 {
        "1 item".to_owned()
    } else {
        format!("{n} items")
    }
}

/// "a", "a and b", "a, b and c".
fn join(parts: &[String]) -> String {
    match parts {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn capitalized(sentence: &str) -> String {
    let mut chars = sentence.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
