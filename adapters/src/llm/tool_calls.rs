//! The tool calls of an answer, as Ollama and OpenAI both write them.
//!
//! Ollama's `message` and OpenAI's `choices[].message` share one shape:
//! `tool_calls[].function` with `name` and `arguments`, the latter an object or a string of
//! JSON. Where each server puts that message stays in its own client; reading it is here.

use alfred_actors::llm::{LlmError, ToolCall};
use serde::Deserialize;
use serde_json::{json, Value};

/// What a blank string of `arguments` (`""`, or only spaces) stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BlankArguments {
    /// It is not JSON, so the answer is refused (Ollama writes objects).
    Invalid,
    /// No arguments, `{}`: how some OpenAI-compatible servers write them.
    Empty,
}

/// An answer's message, with the tool calls it proposes (none is a plain text answer).
#[derive(Deserialize)]
pub(super) struct WireMessage {
    #[serde(default)]
    tool_calls: Option<Vec<WireCall>>,
}

#[derive(Deserialize)]
struct WireCall {
    function: WireFunction,
}

#[derive(Deserialize)]
struct WireFunction {
    name: String,
    #[serde(default)]
    arguments: Value,
}

impl WireMessage {
    /// The message's tool call, if any, with its arguments as JSON.
    ///
    /// # Errors
    /// Several calls (see [`single`]), or arguments written as a string that is not JSON.
    pub(super) fn into_tool_call(
        self,
        blank: BlankArguments,
    ) -> Result<Option<ToolCall>, LlmError> {
        let calls = self.tool_calls.unwrap_or_default();
        let Some(call) = single(calls)? else {
            return Ok(None);
        };
        let arguments = match call.function.arguments {
            Value::String(raw) if blank == BlankArguments::Empty && raw.trim().is_empty() => {
                json!({})
            }
            Value::String(raw) => serde_json::from_str(&raw).map_err(|error| {
                LlmError::InvalidResponse(format!("tool arguments are not JSON: {error}"))
            })?,
            other => other,
        };
        Ok(Some(ToolCall {
            name: call.function.name,
            arguments,
        }))
    }
}

/// At most one call: several are refused, so a message is never half carried out.
fn single<T>(mut calls: Vec<T>) -> Result<Option<T>, LlmError> {
    match calls.len() {
        0 => Ok(None),
        1 => Ok(calls.pop()),
        n => Err(LlmError::InvalidResponse(format!(
            "{n} tool calls where one was expected"
        ))),
    }
}
