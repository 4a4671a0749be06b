//! The grocery domain: commands, items, and what applying a command did.
//!
//! The parser produces a [`GroceryCommand`] of [`ItemSpec`]s; `plan` decides what it does to
//! the list and reports it (see `report`); the replies are rendered from those reports only.

use super::convert::{self, Family};
use super::quantity::{Quantity, Unit};

/// What a message asks of the shopping list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroceryCommand {
    /// Add these items (an amount of an item already listed in a convertible unit is summed
    /// into it, see `convert`).
    Add(Vec<ItemSpec>),
    /// Remove these items, whatever their quantity or unit, bought or not.
    Remove(Vec<ItemSpec>),
    /// Mark these items bought ("got milk"): they stay on the list, ticked.
    CheckOff(Vec<ItemSpec>),
    /// Show the list.
    List,
    /// Remove every item of the household.
    Clear,
    /// Remove the items marked bought.
    ClearBought,
    /// Revert the sender's last change to the list.
    Undo,
}

/// Who sent the message, as recorded on the items they add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    /// Platform user id.
    pub id: String,
    /// Name shown in the list: the platform display name, else the id.
    pub name: String,
}

impl Who {
    /// From the platform sender; falls back to the id when there is no display name.
    pub fn from_sender(sender: &alfred_actors::messages::Sender) -> Who {
        let name = sender
            .name
            .as_deref()
            .map(str::trim)
            .filter(|name| !name.is_empty());
        Who {
            id: sender.id.clone(),
            name: name.unwrap_or(&sender.id).to_owned(),
        }
    }
}

/// One item as written in a message: `2 kg apples`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemSpec {
    /// The name as typed (whitespace collapsed), shown in replies and the list.
    pub name: String,
    /// The matching key, see [`name_key`].
    pub key: String,
    /// `None` when no number was given ("add milk").
    pub quantity: Option<Quantity>,
    /// `Unit::Count` when no unit was given.
    pub unit: Unit,
}

impl ItemSpec {
    /// An item with the given name; `None` when the name has no letter or digit.
    pub fn new(name: &str, quantity: Option<Quantity>, unit: Unit) -> Option<ItemSpec> {
        let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
        let key = name_key(&name);
        if key.is_empty() {
            return None;
        }
        // A unit without a quantity would render as a bare name yet be stored apart from it.
        let unit = if quantity.is_some() {
            unit
        } else {
            Unit::Count
        };
        Some(ItemSpec {
            name,
            key,
            quantity,
            unit,
        })
    }

    /// `2 kg apples`, `3 bananas`, `milk`.
    pub fn render(&self) -> String {
        self.unit.render(self.quantity, &self.name)
    }
}

/// Folds repeated items of one message ("add 2 eggs and 2 eggs", "add 500 g flour and 1 kg
/// flour") into one per key and unit family, summing amounts (see `convert`) and keeping
/// first-seen order, so that each item is applied once. An item without an amount folds into
/// one with ("milk and 1 l milk" is 1 l milk).
pub fn merge_duplicates(items: Vec<ItemSpec>) -> Vec<ItemSpec> {
    let mut merged: Vec<ItemSpec> = Vec::with_capacity(items.len());
    for item in items {
        let same = merged.iter_mut().find(|m| {
            m.key == item.key
                && (Family::of(m.unit) == Family::of(item.unit)
                    || m.quantity.is_none()
                    || item.quantity.is_none())
        });
        match same {
            Some(existing) => match (existing.quantity, item.quantity) {
                (Some(a), Some(b)) => {
                    if let Some((sum, unit)) = convert::sum(a, existing.unit, b, item.unit) {
                        existing.quantity = Some(sum);
                        existing.unit = unit;
                    }
                }
                (None, Some(_)) => {
                    existing.quantity = item.quantity;
                    existing.unit = item.unit;
                }
                (_, None) => {}
            },
            None => merged.push(item),
        }
    }
    merged
}

/// Keeps the first item of each key ("remove milk and milk" removes milk once).
pub fn unique_keys(items: Vec<ItemSpec>) -> Vec<ItemSpec> {
    let mut unique: Vec<ItemSpec> = Vec::with_capacity(items.len());
    for item in items {
        if !unique.iter().any(|u| u.key == item.key) {
            unique.push(item);
        }
    }
    unique
}

/// The matching key of an item name: lower-case letters and digits, other characters as single
/// spaces, and the last word folded so that singular and plural meet ("Bananas" and "banana"
/// → `banana`, "Tomatoes" → `tomato`, "berries" and "berry" → `berry`).
///
/// The fold is deliberately crude and symmetric rather than a real singular: strip one final
/// `s` (not after `s` or `u`: "glass", "hummus"), then one final `e`, then turn a final `i` into
/// `y`. Both forms of a regular noun reach the same key; irregular ones ("loaves") don't. `&`
/// counts as "and".
pub fn name_key(name: &str) -> String {
    let lowered: String = name
        .replace('&', " and ")
        .chars()
        .flat_map(char::to_lowercase)
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    let mut words: Vec<String> = lowered.split_whitespace().map(str::to_owned).collect();
    if let Some(last) = words.last_mut() {
        *last = fold_plural(last);
    }
    words.join(" ")
}

fn fold_plural(word: &str) -> String {
    let mut w: Vec<char> = word.chars().collect();
    if !w.iter().all(|c| c.is_alphabetic()) || w.len() < 3 {
        return word.to_owned();
    }
    let before_last = w[w.len() - 2];
    if w.last() == Some(&'s') && !matches!(before_last, 's' | 'u') {
        w.pop();
    }
    if w.len() > 2 && w.last() == Some(&'e') {
        w.pop();
    }
    if w.len() > 2 && w.last() == Some(&'i') {
        if let Some(last) = w.last_mut() {
            *last = 'y';
        }
    }
    w.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singular_and_plural_share_a_key() {
        for (a, b) in [
            ("banana", "Bananas"),
            ("apple", "apples"),
            ("tomato", "tomatoes"),
            ("berry", "berries"),
            ("cookie", "cookies"),
            ("peach", "peaches"),
            ("box", "boxes"),
            ("glass", "glasses"),
            ("cheese", "cheeses"),
            ("egg", "eggs"),
            ("kiwi", "kiwis"),
            ("Salt and vinegar crisp", "salt & vinegar crisps"),
        ] {
            assert_eq!(name_key(a), name_key(b), "{a} / {b}");
        }
    }

    #[test]
    fn different_things_keep_different_keys() {
        for (a, b) in [
            ("milk", "oat milk"),
            ("rice", "rye"),
            ("pea", "peanut"),
            ("hummus", "hum"),
        ] {
            assert_ne!(name_key(a), name_key(b), "{a} / {b}");
        }
    }

    #[test]
    fn words_ending_in_s_that_are_not_plurals_are_kept() {
        assert_eq!(name_key("hummus"), "hummus");
        assert_eq!(name_key("Swiss"), "swiss");
    }

    #[test]
    fn an_item_needs_a_letter_or_digit() {
        assert!(ItemSpec::new(" !! ", None, Unit::Count).is_none());
        assert!(ItemSpec::new("7up", None, Unit::Count).is_some());
    }

    #[test]
    fn repeated_items_of_one_message_are_summed() {
        let two = |name: &str| ItemSpec::new(name, Some(Quantity::whole(2)), Unit::Count).unwrap();
        let merged = merge_duplicates(vec![two("egg"), two("eggs"), two("milk")]);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].quantity, Some(Quantity::whole(4)));
        assert_eq!(merged[0].name, "egg");
    }
}
