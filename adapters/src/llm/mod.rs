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
//!
//! Layout: `ollama` and `openai` are the two clients; `wire` what they share on the wire (the
//! system prompt, the request's tools and messages, one JSON POST); `tool_calls` the answer's
//! tool calls.

mod ollama;
mod openai;
mod tool_calls;
mod wire;

use std::sync::Arc;

use alfred_actors::llm::Llm;
use alfred_config::{LlmProvider, LlmSettings};

pub use self::ollama::OllamaClient;
pub use self::openai::OpenAiClient;
pub use self::wire::{LlmSetupError, SYSTEM_PROMPT};

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
