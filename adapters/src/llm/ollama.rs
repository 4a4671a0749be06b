//! Ollama: `POST {OLLAMA_URL}/api/chat` with `"stream": false` and `tools`.
//!
//! The answer's `message.tool_calls[].function` holds `name` and `arguments` — an object in
//! Ollama's format (a JSON string is accepted too, as some OpenAI-style servers send it).

use std::time::Duration;

use alfred_actors::llm::{LlmClient, LlmError, ToolCall, ToolSpec};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{json, Value};

use super::tool_calls::{BlankArguments, WireMessage};
use super::wire::{endpoint, messages_json, post_json, tools_json, LlmSetupError};

/// A local Ollama server.
#[derive(Debug, Clone)]
pub struct OllamaClient {
    /// `{OLLAMA_URL}/api/chat`.
    url: String,
    model: String,
    timeout: Duration,
}

impl OllamaClient {
    /// A client of the Ollama at `base_url` (e.g. `http://127.0.0.1:11434`).
    ///
    /// # Errors
    /// `base_url` does not make a valid URL.
    pub fn new(base_url: &str, model: &str, timeout: Duration) -> Result<Self, LlmSetupError> {
        Ok(OllamaClient {
            url: endpoint(base_url, "/api/chat", "OLLAMA_URL")?,
            model: model.to_owned(),
            timeout,
        })
    }
}

#[async_trait(?Send)]
impl LlmClient for OllamaClient {
    async fn tool_call(
        &self,
        text: &str,
        tools: &[ToolSpec],
    ) -> Result<Option<ToolCall>, LlmError> {
        let request = json!({
            "model": self.model,
            "messages": messages_json(text),
            "tools": tools_json(tools),
            "stream": false,
            // The same message should mean the same command.
            "options": {"temperature": 0},
        });
        let answer = post_json(&self.url, None, &request, self.timeout).await?;
        parse_answer(answer)
    }
}

#[derive(Deserialize)]
struct ChatResponse {
    message: WireMessage,
}

/// The tool call of a non-streamed `/api/chat` answer, if any.
fn parse_answer(answer: Value) -> Result<Option<ToolCall>, LlmError> {
    let response: ChatResponse = serde_json::from_value(answer).map_err(|error| {
        LlmError::InvalidResponse(format!("not an Ollama chat answer: {error}"))
    })?;
    response.message.into_tool_call(BlankArguments::Invalid)
}
