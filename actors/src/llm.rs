//! Plain language through an optional LLM: the contract and the validation around it.
//!
//! The deterministic grammar of the skills comes first. Only text that no skill understands
//! reaches the LLM, and the LLM may only answer with a *tool call* — one of the typed commands
//! the skills declare with [`SkillRoute::tools`], each a JSON schema. A call is never executed
//! as such: the skill that declared the tool turns it into the canonical text of its own
//! grammar ([`SkillRoute::command_for`], e.g. `"add 2 kg apples"`), and that text must then be
//! understood by the grammar like anything typed. So the LLM can propose nothing the grammar
//! would not accept, and every argument is validated before anything changes.
//!
//! Everything else — no LLM configured, a request that fails or takes longer than the
//! timeout, an answer in plain text, an unknown tool, arguments the skill rejects — ends in
//! `None`, and the orchestrator answers with help, exactly as without an LLM.
//!
//! The wire formats (Ollama, OpenAI) live in the adapters; this module must not know them.
//! Logging: what the LLM proposed and whether it was accepted at INFO; failures at WARN
//! without the message's text (it is the family's private chat).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::skill::SkillRoute;

/// A typed command an LLM may call: a name, what it does, and its arguments as JSON schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Unique across all skills, e.g. `grocery_add`.
    pub name: String,
    /// Tells the model when to use the tool.
    pub description: String,
    /// A JSON schema (`{"type": "object", "properties": …, "required": …}`).
    pub parameters: serde_json::Value,
}

impl ToolSpec {
    /// A tool: its name, what it is for (the model reads this to choose it), and its
    /// arguments' JSON schema.
    pub fn new(name: &str, description: &str, parameters: serde_json::Value) -> Self {
        ToolSpec {
            name: name.to_owned(),
            description: description.to_owned(),
            parameters,
        }
    }
}

/// A call the LLM proposed. Nothing about it is trusted until a skill has validated it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The tool's name, as the model wrote it.
    pub name: String,
    /// The arguments, as a JSON value (an object if the model followed the schema).
    pub arguments: serde_json::Value,
}

/// An LLM request that did not produce an answer. Reasons never hold the message's text or
/// a secret.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// The server could not be reached or the connection failed.
    #[error("the LLM could not be reached: {0}")]
    Unreachable(String),
    /// The server answered with an error status.
    #[error("the LLM answered with status {0}")]
    Status(u16),
    /// The answer was not in the expected wire format.
    #[error("the LLM's answer was not understood: {0}")]
    InvalidResponse(String),
    /// No answer within the configured time.
    #[error("the LLM did not answer within {0:?}")]
    TimedOut(Duration),
}

/// A chat model that can call tools. Implemented in `adapters::llm` for Ollama and for
/// OpenAI-compatible servers.
///
/// The trait object is `Send + Sync` so that the orchestrator's dependencies can move to any
/// arbiter; its futures are not `Send`, because the HTTP client (awc) lives on the caller's
/// thread, and the orchestrator's futures never leave that thread.
#[async_trait(?Send)]
pub trait LlmClient: Send + Sync + 'static {
    /// Asks the model to turn `text` into one call of `tools`; `Ok(None)` when it answered
    /// without calling any (plain text).
    async fn tool_call(&self, text: &str, tools: &[ToolSpec])
        -> Result<Option<ToolCall>, LlmError>;
}

/// The configured LLM with its time limit, as the orchestrator holds it.
#[derive(Clone)]
pub struct Llm {
    pub client: Arc<dyn LlmClient>,
    /// `LLM_TIMEOUT_MS`: a slower answer counts as no answer.
    pub timeout: Duration,
}

/// What the LLM's answer became: the command text for the skill at `index` of the routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The position of the declaring route in the routes given to [`Llm::interpret`].
    pub index: usize,
    /// The canonical command, already understood by that route's grammar.
    pub command: String,
}

/// How one attempt to interpret text ended; its [`label`](LlmOutcome::label) is the `result`
/// of `alfred_llm_requests_total`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LlmOutcome {
    /// No skill declares a tool, so the LLM was not asked.
    NotAsked,
    /// The call was validated into a command.
    Accepted(Proposal),
    /// The call named an unknown tool or had arguments the skill rejects.
    Refused,
    /// The LLM answered without calling a tool.
    NoCall,
    /// The request failed.
    Failed,
    /// No answer within the timeout.
    TimedOut,
}

impl LlmOutcome {
    /// The metric label, `None` when the LLM was not asked.
    pub fn label(&self) -> Option<&'static str> {
        match self {
            LlmOutcome::NotAsked => None,
            LlmOutcome::Accepted(_) => Some("accepted"),
            LlmOutcome::Refused => Some("refused"),
            LlmOutcome::NoCall => Some("no_call"),
            LlmOutcome::Failed => Some("failed"),
            LlmOutcome::TimedOut => Some("timeout"),
        }
    }

    /// The accepted proposal, if any.
    pub fn proposal(self) -> Option<Proposal> {
        match self {
            LlmOutcome::Accepted(proposal) => Some(proposal),
            _ => None,
        }
    }
}

impl Llm {
    /// Asks the LLM what `text` means with the tools of all `routes`, and validates the answer
    /// through the route that declares the called tool. `None` means "answer with help".
    pub async fn interpret(&self, text: &str, routes: &[&dyn SkillRoute]) -> Option<Proposal> {
        self.consult(text, routes).await.proposal()
    }

    /// Like [`Llm::interpret`], but says how the attempt ended, so the caller can count it.
    pub async fn consult(&self, text: &str, routes: &[&dyn SkillRoute]) -> LlmOutcome {
        let mut tools = Vec::new();
        let mut owners = Vec::new();
        for (index, route) in routes.iter().enumerate() {
            for tool in route.tools() {
                // The first declaration of a name wins, so a call always has one owner.
                if !tools.iter().any(|known: &ToolSpec| known.name == tool.name) {
                    owners.push(index);
                    tools.push(tool);
                }
            }
        }
        if tools.is_empty() {
            return LlmOutcome::NotAsked;
        }
        let call =
            match tokio::time::timeout(self.timeout, self.client.tool_call(text, &tools)).await {
                Ok(Ok(Some(call))) => call,
                Ok(Ok(None)) => {
                    tracing::info!("The LLM called no tool; answering with help.");
                    return LlmOutcome::NoCall;
                }
                Ok(Err(error)) => {
                    tracing::warn!(%error, "The LLM failed; answering with help.");
                    return LlmOutcome::Failed;
                }
                Err(_) => {
                    let error = LlmError::TimedOut(self.timeout);
                    tracing::warn!(%error, "The LLM was too slow; answering with help.");
                    return LlmOutcome::TimedOut;
                }
            };
        let Some(position) = tools.iter().position(|tool| tool.name == call.name) else {
            tracing::info!(tool = %call.name, "The LLM proposed an unknown tool; rejected.");
            return LlmOutcome::Refused;
        };
        let index = owners[position];
        let route = routes[index];
        let Some(command) = route.command_for(&call) else {
            tracing::info!(
                tool = %call.name,
                arguments = %call.arguments,
                "The LLM proposed invalid arguments; rejected."
            );
            return LlmOutcome::Refused;
        };
        if !route.understands(&command) {
            // A skill whose tools produce text its own grammar refuses has a bug; never guess.
            tracing::warn!(tool = %call.name, skill = route.name(), "A tool call became a command the skill's grammar does not accept; rejected.");
            return LlmOutcome::Refused;
        }
        tracing::info!(tool = %call.name, %command, skill = route.name(), "The LLM proposed a command; accepted.");
        LlmOutcome::Accepted(Proposal { index, command })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// Answers every request with a fixed result (after an optional delay) and counts them.
    struct Scripted {
        answer: Result<Option<ToolCall>, String>,
        delay: Duration,
        asked: Mutex<Vec<Vec<String>>>,
    }

    #[async_trait(?Send)]
    impl LlmClient for Scripted {
        async fn tool_call(
            &self,
            _text: &str,
            tools: &[ToolSpec],
        ) -> Result<Option<ToolCall>, LlmError> {
            self.asked
                .lock()
                .unwrap()
                .push(tools.iter().map(|t| t.name.clone()).collect());
            tokio::time::sleep(self.delay).await;
            self.answer.clone().map_err(LlmError::InvalidResponse)
        }
    }

    /// A route with one tool, `{name}_do`, whose grammar understands `"{name} <word>"` and
    /// whose `command_for` maps `{"word": w}` to `"{name} {w}"` (or, if `broken`, to text its
    /// grammar refuses).
    struct Route {
        name: &'static str,
        broken: bool,
    }

    impl SkillRoute for Route {
        fn name(&self) -> &'static str {
            self.name
        }
        fn help(&self) -> Vec<&'static str> {
            Vec::new()
        }
        fn understands(&self, text: &str) -> bool {
            text.strip_prefix(self.name)
                .is_some_and(|rest| rest.starts_with(' ') && rest.len() > 1)
        }
        fn tools(&self) -> Vec<ToolSpec> {
            vec![ToolSpec {
                name: "shared_do".into(),
                description: String::new(),
                parameters: serde_json::json!({"type": "object"}),
            }]
        }
        fn command_for(&self, call: &ToolCall) -> Option<String> {
            let word = call.arguments.get("word")?.as_str()?;
            Some(if self.broken {
                format!("nonsense {word}")
            } else {
                format!("{} {word}", self.name)
            })
        }
    }

    fn llm(answer: Result<Option<ToolCall>, String>, delay: Duration) -> (Llm, Arc<Scripted>) {
        let client = Arc::new(Scripted {
            answer,
            delay,
            asked: Mutex::new(Vec::new()),
        });
        let llm = Llm {
            client: client.clone(),
            timeout: Duration::from_millis(200),
        };
        (llm, client)
    }

    fn call(name: &str, word: &str) -> Result<Option<ToolCall>, String> {
        Ok(Some(ToolCall {
            name: name.into(),
            arguments: serde_json::json!({"word": word}),
        }))
    }

    #[tokio::test]
    async fn a_valid_call_becomes_the_declaring_routes_command_and_a_tool_is_offered_once() {
        let (llm, client) = llm(call("shared_do", "milk"), Duration::ZERO);
        let first = Route {
            name: "first",
            broken: false,
        };
        let second = Route {
            name: "second",
            broken: false,
        };

        let proposal = llm.interpret("text", &[&first, &second]).await;

        assert_eq!(
            proposal,
            Some(Proposal {
                index: 0,
                command: "first milk".into()
            })
        );
        assert_eq!(client.asked.lock().unwrap()[0], vec!["shared_do"]);
    }

    #[tokio::test]
    async fn unknown_tools_invalid_arguments_and_refused_commands_are_rejected() {
        let route = Route {
            name: "list",
            broken: false,
        };
        let broken = Route {
            name: "list",
            broken: true,
        };
        let no_word = Ok(Some(ToolCall {
            name: "shared_do".into(),
            arguments: serde_json::json!({"word": 3}),
        }));
        for (answer, route, label) in [
            (call("other_do", "milk"), &route, "refused"),
            (no_word, &route, "refused"),
            (call("shared_do", "milk"), &broken, "refused"),
            (Ok(None), &route, "no_call"),
            (Err("garbled".to_owned()), &route, "failed"),
        ] {
            let (llm, _) = llm(answer, Duration::ZERO);
            let outcome = llm.consult("text", &[route]).await;
            assert_eq!(outcome.label(), Some(label));
            assert_eq!(outcome.proposal(), None);
        }
    }

    #[tokio::test]
    async fn an_answer_after_the_timeout_is_ignored() {
        let (llm, client) = llm(call("shared_do", "milk"), Duration::from_secs(5));
        let route = Route {
            name: "list",
            broken: false,
        };

        assert_eq!(llm.consult("text", &[&route]).await, LlmOutcome::TimedOut);
        assert_eq!(client.asked.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn without_tools_the_llm_is_not_asked() {
        struct NoTools;
        impl SkillRoute for NoTools {
            fn name(&self) -> &'static str {
                "plain"
            }
            fn help(&self) -> Vec<&'static str> {
                Vec::new()
            }
            fn understands(&self, _text: &str) -> bool {
                false
            }
        }
        let (llm, client) = llm(call("shared_do", "milk"), Duration::ZERO);

        assert_eq!(llm.interpret("text", &[&NoTools]).await, None);
        assert!(client.asked.lock().unwrap().is_empty());
    }
}
