//! Reply texts, rendered only from what a command actually did.

use super::model::{AddReport, Added, ItemSpec, ListedItem, RemoveReport};

/// "Added milk, eggs and 2 kg apples to the shopping list. 5 items on the list."
pub(crate) fn added(report: &AddReport) -> String {
    let mut changed = Vec::new();
    let mut unchanged = Vec::new();
    for item in &report.items {
        match item {
            Added::New(spec) => changed.push(spec.render()),
            Added::Merged { added, now } => {
                let (added, now) = (added.render(), now.render());
                changed.push(if added == now {
                    added
                } else {
                    format!("{added} (now {now})")
                });
            }
            Added::AlreadyListed(now) => unchanged.push(now.render()),
        }
    }
    let mut sentences = Vec::new();
    if !changed.is_empty() {
        sentences.push(format!("Added {} to the shopping list.", join(&changed)));
    }
    if !unchanged.is_empty() {
        let verb = if unchanged.len() == 1 { "is" } else { "are" };
        sentences.push(capitalized(&format!(
            "{} {verb} already on the list.",
            join(&unchanged)
        )));
    }
    sentences.push(format!("{} on the list.", items(report.total)));
    sentences.join(" ")
}

/// "Removed milk from the shopping list. 2 items left." / "Milk isn't on the list."
pub(crate) fn removed(report: &RemoveReport) -> String {
    let mut sentences = Vec::new();
    if !report.removed.is_empty() {
        let names: Vec<String> = report.removed.iter().map(ListedItem::render).collect();
        sentences.push(format!("Removed {} from the shopping list.", join(&names)));
    }
    if !report.missing.is_empty() {
        let names: Vec<String> = report
            .missing
            .iter()
            .map(|spec: &ItemSpec| spec.name.clone())
            .collect();
        let verb = if names.len() == 1 { "isn't" } else { "aren't" };
        sentences.push(capitalized(&format!(
            "{} {verb} on the list.",
            join(&names)
        )));
    }
    if !report.removed.is_empty() {
        sentences.push(match report.remaining {
            0 => "The shopping list is now empty.".to_owned(),
            n => format!("{} left.", items(n)),
        });
    }
    sentences.join(" ")
}

/// "The shopping list is empty." or a heading and one "• 2 kg apples (Dana)" line per item.
pub(crate) fn listing(items_on_list: &[ListedItem]) -> String {
    if items_on_list.is_empty() {
        return "The shopping list is empty.".to_owned();
    }
    let mut text = format!("Shopping list ({}):", items(items_on_list.len()));
    for item in items_on_list {
        text.push_str(&format!("\n• {} ({})", item.render(), item.added_by_name));
    }
    text
}

/// "Cleared the shopping list (5 items removed)." / "The shopping list is already empty."
pub(crate) fn cleared(count: usize) -> String {
    match count {
        0 => "The shopping list is already empty.".to_owned(),
        n => format!("Cleared the shopping list ({} removed).", items(n)),
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
