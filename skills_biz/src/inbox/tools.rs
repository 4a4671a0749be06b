//! The inbox's tools for the optional LLM: each call becomes the canonical text of the grammar,
//! which `parse` then checks like typed text. The skill still checks who is asking.

use alfred_actors::llm::{ToolCall, ToolSpec};
use serde_json::{json, Value};

use super::command::{parse, text, InboxCommand, MAX_IDS};

/// Summarises the work inbox.
pub const SUMMARY: &str = "inbox_summary";
/// Marks work mails done by their `#id`.
pub const DONE: &str = "inbox_done";

/// The tools, as JSON schemas.
pub fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec::new(
            SUMMARY,
            "Summarise the owner's work e-mail inbox: the open mails by urgency, \
             with why and the next action.",
            json!({"type": "object", "properties": {}, "required": []}),
        ),
        ToolSpec::new(
            DONE,
            "Mark work e-mails done by the numbers the inbox summary shows (#12).",
            json!({
                "type": "object",
                "properties": {
                    "ids": {
                        "type": "array",
                        "items": {"type": "integer", "minimum": 1},
                        "minItems": 1,
                        "maxItems": MAX_IDS
                    }
                },
                "required": ["ids"]
            }),
        ),
    ]
}

/// The canonical text of a call, if its arguments are valid and the grammar accepts it.
pub fn command_for(call: &ToolCall) -> Option<String> {
    let command = match call.name.as_str() {
        SUMMARY => InboxCommand::Summary,
        DONE => {
            let ids = call.arguments.get("ids")?.as_array()?;
            let ids: Option<Vec<i64>> = ids.iter().map(id).collect();
            InboxCommand::Done(ids?)
        }
        _ => return None,
    };
    // Parsing the text checks it and drops repeated ids.
    parse(&text(&command)).map(|parsed| text(&parsed))
}

/// An id as a positive integer (`12`, or the strings `"12"`/`"#12"` some models send).
fn id(value: &Value) -> Option<i64> {
    let id = match value {
        Value::Number(number) => number.as_i64()?,
        Value::String(text) => text.trim().trim_start_matches('#').parse().ok()?,
        _ => return None,
    };
    (id > 0).then_some(id)
}
