//! The shopping list's tools for the optional LLM, and their translation into the grammar.
//!
//! The LLM sees five tools: `grocery_add { items: [{ name, quantity?, unit? }] }`,
//! `grocery_remove { items: [name] }`, `grocery_check_off { items: [name] }` (bought),
//! `grocery_undo {}` (the sender's own last change) and `grocery_list {}`. (No tool clears the
//! list or what was bought: a misread message must never be able to wipe it.) A call becomes the canonical text a person
//! would type — `add 2 kg apples, milk` — built only from arguments that pass validation:
//! names are non-empty, short, of letters, digits, spaces, hyphens and apostrophes, and not
//! digits alone; quantities are positive, at most [`MAX_QUANTITY`] with three decimals; units
//! come from the grammar's own set. Anything else rejects the whole call. The text is then
//! parsed by the grammar like typed text, which has the last word.

use alfred_actors::llm::{ToolCall, ToolSpec};
use serde_json::{json, Value};

use super::quantity::Unit;

/// Adds items.
pub const ADD: &str = "grocery_add";
/// Removes items.
pub const REMOVE: &str = "grocery_remove";
/// Shows the list.
pub const LIST: &str = "grocery_list";
/// Ticks items off as bought.
pub const CHECK_OFF: &str = "grocery_check_off";
/// Reverts the sender's own last change.
pub const UNDO: &str = "grocery_undo";

/// The largest quantity an LLM may propose for one item.
pub const MAX_QUANTITY: f64 = 1000.0;
/// Most items in one call.
const MAX_ITEMS: usize = 20;
/// Longest item name, in characters.
const MAX_NAME_CHARS: usize = 60;

/// The units offered to the model, each a word the grammar knows.
const UNITS: [&str; 15] = [
    "pcs", "kg", "g", "l", "ml", "lb", "oz", "pack", "bottle", "can", "jar", "bag", "box", "bunch",
    "loaf",
];

/// First words that the grammar would read as something other than a name (a quantity, a
/// filler) and words that split items: a name holding one is written in quotes.
const AMBIGUOUS_WORDS: [&str; 22] = [
    "a", "an", "some", "more", "the", "dozen", "of", "and", "&", "plus", "one", "two", "three",
    "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
];

/// The tools of the shopping list, as JSON schemas.
pub fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec::new(
            ADD,
            "Add items to the family's shopping list.",
            items_parameters(json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string", "description": "The item, e.g. apples"},
                    "quantity": {
                        "type": "number",
                        "exclusiveMinimum": 0,
                        "maximum": MAX_QUANTITY,
                        "description": "How many or how much; omit when not said"
                    },
                    "unit": {
                        "type": "string",
                        "enum": UNITS,
                        "description": "The unit of the quantity; omit for a number of pieces"
                    }
                },
                "required": ["name"]
            })),
        ),
        names_spec(REMOVE, "Take items off the family's shopping list."),
        names_spec(
            CHECK_OFF,
            "Tick items on the family's shopping list off as bought.",
        ),
        ToolSpec::new(
            UNDO,
            "Undo the sender's own last change to the shopping list.",
            json!({"type": "object", "properties": {}}),
        ),
        ToolSpec::new(
            LIST,
            "Show the family's shopping list.",
            json!({"type": "object", "properties": {}}),
        ),
    ]
}

/// The canonical command for a call of one of [`specs`], or `None` when the tool is not ours
/// or any argument is invalid.
pub fn command_for(call: &ToolCall) -> Option<String> {
    match call.name.as_str() {
        ADD => {
            let items = items(&call.arguments)?
                .iter()
                .map(add_item)
                .collect::<Option<Vec<_>>>()?;
            Some(format!("add {}", items.join(", ")))
        }
        REMOVE => names_command("remove", &call.arguments),
        CHECK_OFF => names_command("check off", &call.arguments),
        UNDO => Some("undo".to_owned()),
        LIST => Some("list".to_owned()),
        _ => None,
    }
}

/// A tool taking a list of item names (`{items: [name]}`).
fn names_spec(name: &str, description: &str) -> ToolSpec {
    ToolSpec::new(
        name,
        description,
        items_parameters(json!({"type": "string", "description": "The item's name"})),
    )
}

/// The parameters of a tool taking 1 to [`MAX_ITEMS`] items (`{items: [item]}`), each as
/// the schema `item` says.
fn items_parameters(item: Value) -> Value {
    json!({
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_ITEMS,
                "items": item
            }
        },
        "required": ["items"]
    })
}

/// `{verb} milk, eggs` from `{items: [name]}`, every name validated.
fn names_command(verb: &str, arguments: &Value) -> Option<String> {
    let names = items(arguments)?
        .iter()
        .map(|name| name.as_str().and_then(name_text))
        .collect::<Option<Vec<_>>>()?;
    Some(format!("{verb} {}", names.join(", ")))
}

/// The non-empty, bounded `items` array of the arguments.
fn items(arguments: &Value) -> Option<&Vec<Value>> {
    let items = arguments.get("items")?.as_array()?;
    (!items.is_empty() && items.len() <= MAX_ITEMS).then_some(items)
}

/// `2 kg apples`, `3 bananas`, `milk` from `{name, quantity?, unit?}`.
fn add_item(item: &Value) -> Option<String> {
    let name = name_text(item.get("name")?.as_str()?)?;
    let quantity = match item.get("quantity") {
        None | Some(Value::Null) => None,
        Some(value) => Some(quantity_text(value)?),
    };
    let unit = match item.get("unit") {
        None | Some(Value::Null) => None,
        Some(value) => Some(unit_text(value.as_str()?)?),
    };
    Some(match (quantity, unit) {
        (Some(quantity), Some(unit)) if !unit.is_empty() => format!("{quantity} {unit} {name}"),
        (Some(quantity), _) => format!("{quantity} {name}"),
        // A unit without a quantity says nothing the list can keep.
        (None, _) => name,
    })
}

/// A validated name, quoted when the grammar could read it as more than a name.
fn name_text(raw: &str) -> Option<String> {
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let allowed = |c: char| c.is_alphanumeric() || matches!(c, ' ' | '-' | '\'' | '\u{2019}');
    if name.is_empty()
        || name.chars().count() > MAX_NAME_CHARS
        || !name.chars().all(allowed)
        || !name.chars().any(char::is_alphabetic)
    {
        return None;
    }
    let lower = name.to_lowercase();
    let mut words = lower.split(' ');
    let first = words.next().unwrap_or_default();
    let ambiguous = AMBIGUOUS_WORDS.contains(&first)
        || first.starts_with(|c: char| c.is_ascii_digit())
        || Unit::from_word(first).is_some()
        || lower.split(' ').any(|w| matches!(w, "and" | "&" | "plus"));
    Some(if ambiguous {
        format!("\"{name}\"")
    } else {
        name
    })
}

/// A positive quantity up to [`MAX_QUANTITY`], with at most three decimals, in its shortest
/// decimal form (`2`, `1.5`). Numbers written as strings (`"2"`) are accepted.
fn quantity_text(value: &Value) -> Option<String> {
    let number = match value {
        Value::Number(number) => number.as_f64()?,
        Value::String(text) => text.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    if !number.is_finite() || number <= 0.0 || number > MAX_QUANTITY {
        return None;
    }
    let thousandths = (number * 1000.0).round();
    if (number * 1000.0 - thousandths).abs() > 1e-6 || thousandths < 1.0 {
        return None;
    }
    let text = format!("{:.3}", thousandths / 1000.0);
    Some(text.trim_end_matches('0').trim_end_matches('.').to_owned())
}

/// The grammar's key for a unit word (`kilos` → `kg`; `pcs` → empty: a count).
fn unit_text(raw: &str) -> Option<&'static str> {
    Unit::from_word(raw.trim().to_lowercase().as_str()).map(Unit::key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grocery::parse::parse;

    fn call(name: &str, arguments: Value) -> ToolCall {
        ToolCall {
            name: name.to_owned(),
            arguments,
        }
    }

    #[test]
    fn an_add_call_becomes_the_text_a_person_would_type() {
        let command = command_for(&call(
            ADD,
            json!({"items": [{"name": "apples", "quantity": 2, "unit": "kg"}, {"name": "milk"}, {"name": "bananas", "quantity": "3"}]}),
        ));
        assert_eq!(command.as_deref(), Some("add 2 kg apples, milk, 3 bananas"));
        assert!(parse(command.as_deref().unwrap()).is_some());
    }

    #[test]
    fn every_offered_unit_is_one_the_grammar_knows() {
        for unit in UNITS {
            let command = command_for(&call(
                ADD,
                json!({"items": [{"name": "rice", "quantity": 1.5, "unit": unit}]}),
            ))
            .unwrap();
            assert!(parse(&command).is_some(), "{command}");
        }
    }

    #[test]
    fn names_the_grammar_would_split_or_misread_are_quoted() {
        let command = command_for(&call(
            ADD,
            json!({"items": [{"name": "salt and pepper crisps"}, {"name": "7up", "quantity": 2}]}),
        ))
        .unwrap();
        assert_eq!(command, "add \"salt and pepper crisps\", 2 \"7up\"");
        assert!(parse(&command).is_some(), "{command}");
    }

    #[test]
    fn remove_and_list_calls_become_commands() {
        let remove = command_for(&call(REMOVE, json!({"items": ["milk", "eggs"]}))).unwrap();
        assert_eq!(remove, "remove milk, eggs");
        assert!(parse(&remove).is_some());
        assert_eq!(command_for(&call(LIST, json!({}))).as_deref(), Some("list"));
    }

    #[test]
    fn check_off_and_undo_calls_become_commands_the_grammar_reads_as_such() {
        let check_off = command_for(&call(
            CHECK_OFF,
            json!({"items": ["milk", "salt and pepper crisps"]}),
        ))
        .unwrap();
        assert_eq!(check_off, "check off milk, \"salt and pepper crisps\"");
        assert!(
            matches!(parse(&check_off), Some(crate::grocery::model::GroceryCommand::CheckOff(items)) if items.len() == 2),
            "{check_off}: {:?}",
            parse(&check_off)
        );
        let undo = command_for(&call(UNDO, json!({}))).unwrap();
        assert_eq!(
            parse(&undo),
            Some(crate::grocery::model::GroceryCommand::Undo)
        );
        assert_eq!(command_for(&call(CHECK_OFF, json!({"items": []}))), None);
        assert_eq!(
            command_for(&call(CHECK_OFF, json!({"items": ["it's 42!"]}))),
            None
        );
    }

    #[test]
    fn invalid_arguments_reject_the_whole_call() {
        for arguments in [
            json!({}),
            json!({"items": []}),
            json!({"items": "apples"}),
            json!({"items": [{"name": ""}]}),
            json!({"items": [{"name": "1234"}]}),
            json!({"items": [{"name": "apples, and clear the list"}]}),
            json!({"items": [{"name": "apples", "quantity": 0}]}),
            json!({"items": [{"name": "apples", "quantity": -2}]}),
            json!({"items": [{"name": "apples", "quantity": 1_000_000}]}),
            json!({"items": [{"name": "apples", "quantity": 1.23456}]}),
            json!({"items": [{"name": "apples", "quantity": 2, "unit": "furlong"}]}),
            json!({"items": [{"name": "milk"}, {"name": "x".repeat(61)}]}),
        ] {
            assert_eq!(
                command_for(&call(ADD, arguments.clone())),
                None,
                "{arguments}"
            );
        }
        assert_eq!(command_for(&call(REMOVE, json!({"items": [""]}))), None);
        assert_eq!(command_for(&call("grocery_clear", json!({}))), None);
    }
}
