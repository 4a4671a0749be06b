//! The CRM's tools for the optional LLM: each call becomes the canonical question text of the
//! grammar (never SQL), which `parse` then checks like typed text.

use alfred_actors::llm::{ToolCall, ToolSpec};
use serde_json::{json, Value};

use super::parse::parse;

/// Looks up a contact.
pub const CONTACT: &str = "crm_contact";
/// Lists a company's open deals.
pub const COMPANY_DEALS: &str = "crm_company_deals";
/// Lists deals closing this week or month.
pub const CLOSING: &str = "crm_closing";
/// Lists deals over an amount.
pub const OVER: &str = "crm_deals_over";
/// Lists the asker's deals.
pub const MINE: &str = "crm_my_deals";

fn object(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": properties, "required": required})
}

/// The tools, as JSON schemas.
pub fn specs() -> Vec<ToolSpec> {
    vec![
        ToolSpec::new(
            CONTACT,
            "Find a CRM contact by full name, first or last name, or e-mail.",
            object(json!({"query": {"type": "string"}}), &["query"]),
        ),
        ToolSpec::new(
            COMPANY_DEALS,
            "List a company's open deals.",
            object(json!({"company": {"type": "string"}}), &["company"]),
        ),
        ToolSpec::new(
            CLOSING,
            "List open deals closing this week or this month.",
            object(
                json!({"period": {"type": "string", "enum": ["week", "month"]}}),
                &["period"],
            ),
        ),
        ToolSpec::new(
            OVER,
            "List open deals above an amount, optionally in one currency.",
            object(
                json!({
                    "amount": {"type": "number", "minimum": 0},
                    "currency": {"type": "string", "description": "ISO 4217 code, e.g. EUR"}
                }),
                &["amount"],
            ),
        ),
        ToolSpec::new(
            MINE,
            "List the open deals owned by the person asking.",
            object(json!({}), &[]),
        ),
    ]
}

/// The canonical text of a call, if its arguments are valid and the grammar accepts it.
pub fn command_for(call: &ToolCall) -> Option<String> {
    let text = |key: &str| {
        call.arguments
            .get(key)
            .and_then(Value::as_str)
            .map(str::trim)
    };
    let command = match call.name.as_str() {
        CONTACT => format!("contact {}", text("query")?),
        COMPANY_DEALS => format!("open deals for {}", text("company")?),
        CLOSING => format!("deals closing this {}", text("period")?),
        OVER => {
            let amount = call.arguments.get("amount").and_then(Value::as_f64)?;
            if !(0.0..1e15).contains(&amount) {
                return None;
            }
            let amount = format!("{amount:.2}");
            match text("currency") {
                Some(currency) => format!("deals over {amount} {currency}"),
                None => format!("deals over {amount}"),
            }
        }
        MINE => "my deals".to_owned(),
        _ => return None,
    };
    parse(&command).map(|_| command)
}
