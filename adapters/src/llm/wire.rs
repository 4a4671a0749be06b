//! What both LLM clients share on the wire: the system prompt, the request's `tools` and
//! `messages`, the endpoint check and one JSON POST with a bounded answer.

use std::time::Duration;

use actix_web::http::header::{HeaderValue, AUTHORIZATION};
use actix_web::http::Uri;
use alfred_actors::llm::{LlmError, ToolSpec};

use crate::outbound_http;
use serde_json::{json, Value};

/// Largest answer read; a tool call is a few hundred bytes.
const RESPONSE_LIMIT: usize = 256 * 1024;

/// What the model is told before the family's message. It keeps the model to the tools: the
/// skills validate whatever it proposes anyway.
pub const SYSTEM_PROMPT: &str = "You are Alfred, a family assistant in a chat. Turn the user's \
message into exactly one call of the given tools, using only what the message says; never \
invent items, quantities or units. If no tool fits the message, answer with a short plain \
text and call no tool.";

/// The settings cannot make a client.
#[derive(Debug, thiserror::Error)]
pub enum LlmSetupError {
    #[error("{variable} does not form a valid URL for the LLM: {reason}")]
    InvalidUrl {
        variable: &'static str,
        reason: String,
    },
    #[error("OPENAI_API_KEY contains characters not allowed in an HTTP header")]
    InvalidKey,
}

/// `{base}{path}`, checked to be a URL awc can request.
pub(super) fn endpoint(
    base: &str,
    path: &str,
    variable: &'static str,
) -> Result<String, LlmSetupError> {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    url.parse::<Uri>()
        .map_err(|error| LlmSetupError::InvalidUrl {
            variable,
            reason: error.to_string(),
        })?;
    Ok(url)
}

/// The `tools` array, the same shape for Ollama and OpenAI.
pub(super) fn tools_json(tools: &[ToolSpec]) -> Value {
    Value::Array(
        tools
            .iter()
            .map(|tool| {
                json!({
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.parameters,
                    }
                })
            })
            .collect(),
    )
}

/// The two chat turns: the instructions, then the family's message.
pub(super) fn messages_json(text: &str) -> Value {
    json!([
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": text},
    ])
}

/// POSTs `body` as JSON and returns the answer's JSON. Any non-2xx status is an error whose
/// reason holds only the status: error bodies may echo the request, i.e. the message.
pub(super) async fn post_json(
    url: &str,
    authorization: Option<&HeaderValue>,
    body: &Value,
    timeout: Duration,
) -> Result<Value, LlmError> {
    let client = outbound_http::client(timeout);
    let mut request = client.post(url);
    if let Some(authorization) = authorization {
        request = request.insert_header((AUTHORIZATION, authorization.clone()));
    }
    let mut response = request.send_json(body).await.map_err(|error| match error {
        awc::error::SendRequestError::Timeout => LlmError::TimedOut(timeout),
        other => LlmError::Unreachable(other.to_string()),
    })?;
    let status = response.status();
    if !status.is_success() {
        return Err(LlmError::Status(status.as_u16()));
    }
    let bytes = response
        .body()
        .limit(RESPONSE_LIMIT)
        .await
        .map_err(|error| LlmError::InvalidResponse(format!("unreadable body: {error}")))?;
    serde_json::from_slice(&bytes)
        .map_err(|error| LlmError::InvalidResponse(format!("not JSON: {error}")))
}
