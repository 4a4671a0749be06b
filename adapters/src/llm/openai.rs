//! OpenAI and compatible servers: `POST {OPENAI_BASE_URL}/chat/completions` with `tools`,
//! authorised by `Authorization: Bearer {OPENAI_API_KEY}`.
//!
//! The answer's `choices[0].message.tool_calls[].function` holds `name` and `arguments`, the
//! latter a *string* of JSON, parsed here (an object is accepted too).

use std::time::Duration;

use actix_web::http::header::HeaderValue;
use alfred_actors::llm::{LlmClient, LlmError, ToolCall, ToolSpec};
use async_trait::async_trait;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{json, Value};

use super::tool_calls::{BlankArguments, WireMessage};
use super::wire::{endpoint, messages_json, post_json, tools_json, LlmSetupError};
use crate::outbound_http;

/// An OpenAI-compatible chat-completions server.
#[derive(Clone)]
pub struct OpenAiClient {
    /// `{OPENAI_BASE_URL}/chat/completions`.
    url: String,
    /// `Bearer {key}`, marked sensitive.
    authorization: HeaderValue,
    model: String,
    timeout: Duration,
}

impl OpenAiClient {
    /// A client of the server at `base_url` (e.g. `https://api.openai.com/v1`).
    ///
    /// # Errors
    /// `base_url` does not make a valid URL, or the key cannot be sent in a header.
    pub fn new(
        base_url: &str,
        api_key: SecretString,
        model: &str,
        timeout: Duration,
    ) -> Result<Self, LlmSetupError> {
        let authorization = outbound_http::bearer(&api_key).ok_or(LlmSetupError::InvalidKey)?;
        Ok(OpenAiClient {
            url: endpoint(base_url, "/chat/completions", "OPENAI_BASE_URL")?,
            authorization,
            model: model.to_owned(),
            timeout,
        })
    }
}

impl std::fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiClient")
            .field("url", &self.url)
            .field("api_key", &"[REDACTED]")
            .field("model", &self.model)
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[async_trait(?Send)]
impl LlmClient for OpenAiClient {
    async fn tool_call(
        &self,
        text: &str,
        tools: &[ToolSpec],
    ) -> Result<Option<ToolCall>, LlmError> {
        let request = json!({
            "model": self.model,
            "messages": messages_json(text),
            "tools": tools_json(tools),
            "tool_choice": "auto",
        });
        let answer =
            post_json(&self.url, Some(&self.authorization), &request, self.timeout).await?;
        parse_answer(answer)
    }
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: WireMessage,
}

/// The tool call of the first choice, if any.
fn parse_answer(answer: Value) -> Result<Option<ToolCall>, LlmError> {
    let completion: Completion = serde_json::from_value(answer)
        .map_err(|error| LlmError::InvalidResponse(format!("not a chat completion: {error}")))?;
    let Some(choice) = completion.choices.into_iter().next() else {
        return Err(LlmError::InvalidResponse("no choices".to_owned()));
    };
    // An empty string is how some servers write "no arguments".
    choice.message.into_tool_call(BlankArguments::Empty)
}
