//! LLM clients with tool calling: Ollama's `/api/chat` and OpenAI's (or a compatible
//! server's) `/chat/completions`.
//!
//! Both implement `alfred_actors::llm::LlmClient`: the message goes in as the user turn, the
//! skills' tools as `tools`, and the answer comes back as at most one tool call. These clients
//! only translate wire formats; whether a call means anything is decided by the skill that
//! declared the tool (see `alfred_actors::llm`). An answer with several tool calls is refused
//! as a whole rather than half executed.
//!
//! Built on `awc`, which is not `Send`. The clients hold only plain settings (so they can be
//! shared across threads) and build an HTTP client on the caller's thread for each request;
//! one request per message that the grammar could not parse makes connection reuse irrelevant.
//! The OpenAI key travels only in the `Authorization` header, marked sensitive; it never
//! appears in `Debug`, logs or errors, and neither does the message's text or the server's
//! answer.

mod ollama;
mod openai;
mod tool_calls;

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::{HeaderValue, AUTHORIZATION};
use actix_web::http::Uri;
use alfred_actors::llm::{Llm, LlmError, ToolSpec};
use alfred_config::{LlmProvider, LlmSettings};
use serde_json::{json, Value};

pub use self::ollama::OllamaClient;
pub use self::openai::OpenAiClient;

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

/// The configured LLM with its timeout, ready for the orchestrator.
///
/// # Errors
/// A URL that cannot be requested, or an API key that cannot be sent in a header.
pub fn from_settings(settings: &LlmSettings) -> Result<Llm, LlmSetupError> {
    let client: Arc<dyn alfred_actors::llm::LlmClient> = match &settings.provider {
        LlmProvider::Ollama { url } => {
            Arc::new(OllamaClient::new(url, &settings.model, settings.timeout)?)
        }
        LlmProvider::OpenAi { api_key, base_url } => Arc::new(OpenAiClient::new(
            base_url,
            api_key.clone(),
            &settings.model,
            settings.timeout,
        )?),
    };
    Ok(Llm {
        client,
        timeout: settings.timeout,
    })
}

/// `{base}{path}`, checked to be a URL awc can request.
fn endpoint(base: &str, path: &str, variable: &'static str) -> Result<String, LlmSetupError> {
    let url = format!("{}{path}", base.trim_end_matches('/'));
    url.parse::<Uri>()
        .map_err(|error| LlmSetupError::InvalidUrl {
            variable,
            reason: error.to_string(),
        })?;
    Ok(url)
}

/// The `tools` array, the same shape for Ollama and OpenAI.
fn tools_json(tools: &[ToolSpec]) -> Value {
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
fn messages_json(text: &str) -> Value {
    json!([
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": text},
    ])
}

/// POSTs `body` as JSON and returns the answer's JSON. Any non-2xx status is an error whose
/// reason holds only the status: error bodies may echo the request, i.e. the message.
async fn post_json(
    url: &str,
    authorization: Option<&HeaderValue>,
    body: &Value,
    timeout: Duration,
) -> Result<Value, LlmError> {
    let client = awc::Client::builder()
        .timeout(timeout)
        .disable_redirects()
        .finish();
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
