//! The shopping list's grammar (`grocery::parse`).
//!
//! Properties beyond "does not panic":
//! * what it accepts is bounded: at most 50 items, names of at most 80 characters with a
//!   matching key, quantities above zero and within the per-message maximum;
//! * the canonical text of the command re-parses to the same command. The canonical text is
//!   the shape the LLM tools produce (`add 2 kg "apples", "milk"`), with every name quoted
//!   so that no name can be read as a quantity, a filler or a split.
#![no_main]

use alfred_skills_home::grocery::{parse, GroceryCommand, ItemSpec, Unit};
use libfuzzer_sys::fuzz_target;

/// `2 kg "apples"`, `3 "bananas"`, `"milk"`.
fn canonical_item(item: &ItemSpec) -> String {
    let name = format!("\"{}\"", item.name);
    match (item.quantity, item.unit) {
        (None, _) => name,
        (Some(quantity), Unit::Count) => format!("{quantity} {name}"),
        (Some(quantity), unit) => format!("{quantity} {} {name}", unit.key()),
    }
}

fn canonical(command: &GroceryCommand) -> String {
    let items = |verb: &str, items: &[ItemSpec]| {
        let items: Vec<String> = items.iter().map(canonical_item).collect();
        format!("{verb} {}", items.join(", "))
    };
    match command {
        GroceryCommand::Add(list) => items("add", list),
        GroceryCommand::Remove(list) => items("remove", list),
        GroceryCommand::CheckOff(list) => items("check off", list),
        GroceryCommand::List => "list".to_owned(),
        GroceryCommand::Clear => "clear the list".to_owned(),
        GroceryCommand::ClearBought => "clear bought".to_owned(),
        GroceryCommand::Undo => "undo".to_owned(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(command) = parse(text) else {
        return;
    };
    if let GroceryCommand::Add(list)
    | GroceryCommand::Remove(list)
    | GroceryCommand::CheckOff(list) = &command
    {
        assert!(!list.is_empty() && list.len() <= 50, "{} items", list.len());
        for item in list {
            assert!(item.name.chars().count() <= 80, "{:?}", item.name);
            assert!(!item.key.is_empty());
            if let Some(quantity) = item.quantity {
                assert!(quantity.is_positive(), "{item:?}");
            } else {
                assert_eq!(item.unit, Unit::Count, "{item:?}");
            }
            let _ = item.render();
        }
    }
    let text = canonical(&command);
    assert_eq!(parse(&text), Some(command), "canonical text {text:?}");
});
