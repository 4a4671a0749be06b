//! The reminders' tools for the optional LLM (filled in below).

use alfred_actors::llm::{ToolCall, ToolSpec};

/// The tools of the reminders.
pub fn specs() -> Vec<ToolSpec> {
    Vec::new()
}

/// The canonical command for a tool call.
pub fn command_for(_call: &ToolCall) -> Option<String> {
    None
}
