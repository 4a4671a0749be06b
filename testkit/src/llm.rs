//! A fake LLM server that speaks both real wire formats with tool calling.
//!
//! * Ollama: `POST /api/chat` answers `{"model", "created_at", "message": {"role":
//!   "assistant", "content", "tool_calls": [{"function": {"name", "arguments": {…}}}]},
//!   "done": true, …}` — arguments as an object;
//! * OpenAI: `POST /v1/chat/completions` answers `{"id", "object": "chat.completion",
//!   "choices": [{"index": 0, "message": {"role": "assistant", "content": null, "tool_calls":
//!   [{"id", "type": "function", "function": {"name", "arguments": "{…}"}}]}, "finish_reason":
//!   "tool_calls"}], "usage"}` — arguments as a JSON *string*.
//!
//! Use [`FakeLlm::ollama_url`] as `OLLAMA_URL` or [`FakeLlm::openai_url`] as
//! `OPENAI_BASE_URL`. Answers are scripted with [`Answer`]: queued ones
//! ([`FakeLlm::answer_next`]) are used once, in order; after them the standing answer
//! ([`FakeLlm::answer_always`], plain text by default). Every request is recorded.
//!
//! The server runs on 127.0.0.1:0 in its own thread and actix system; dropping it stops it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use crate::fake_server::{bearer_token, poll_until, RunningServer};

/// What the fake answers to one request.
#[derive(Debug, Clone)]
pub enum Answer {
    /// One tool call with these arguments (written in the route's wire format).
    ToolCall { name: String, arguments: Value },
    /// One tool call whose `arguments` are sent as this raw text (a string in both formats):
    /// for arguments that are not JSON at all.
    RawArguments { name: String, raw: String },
    /// Several tool calls in one answer.
    ToolCalls(Vec<(String, Value)>),
    /// A plain text answer, no tool call.
    Text(String),
    /// An error status with the server's error body.
    Status(u16),
    /// The inner answer, after a delay.
    Delayed(Duration, Box<Answer>),
}

impl Answer {
    /// A tool call of `name` with `arguments`.
    pub fn tool(name: &str, arguments: Value) -> Answer {
        Answer::ToolCall {
            name: name.to_owned(),
            arguments,
        }
    }
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct LlmRequest {
    /// `/api/chat` or `/v1/chat/completions`.
    pub path: String,
    /// The token of `Authorization: Bearer …`, if any.
    pub bearer: Option<String>,
    /// The JSON body (`Value::Null` when it was not JSON).
    pub body: Value,
}

impl LlmRequest {
    /// The content of the last `user` message.
    pub fn user_text(&self) -> Option<&str> {
        self.body
            .get("messages")?
            .as_array()?
            .iter()
            .rev()
            .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))?
            .get("content")?
            .as_str()
    }

    /// The names of the offered tools (`tools[].function.name`).
    pub fn tool_names(&self) -> Vec<String> {
        self.body
            .get("tools")
            .and_then(Value::as_array)
            .map(|tools| {
                tools
                    .iter()
                    .filter_map(|t| t.pointer("/function/name").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

struct State {
    requests: Mutex<Vec<LlmRequest>>,
    queued: Mutex<VecDeque<Answer>>,
    standing: Mutex<Answer>,
}

/// The running fake. Stops when dropped.
pub struct FakeLlm {
    state: Arc<State>,
    server: RunningServer,
}

impl FakeLlm {
    /// Starts a fake on a free local port.
    pub async fn start() -> FakeLlm {
        let state = Arc::new(State {
            requests: Mutex::new(Vec::new()),
            queued: Mutex::new(VecDeque::new()),
            standing: Mutex::new(Answer::Text("I can't help with that.".to_owned())),
        });
        let data = web::Data::from(state.clone());
        let server = RunningServer::start("fake-llm", "fake LLM", 0, move |config| {
            config
                .app_data(data.clone())
                .route("/api/chat", web::post().to(ollama_chat))
                .route("/v1/chat/completions", web::post().to(openai_completions));
        })
        .await;
        FakeLlm { state, server }
    }

    /// The base URL to use as `OLLAMA_URL`.
    pub fn ollama_url(&self) -> String {
        format!("http://{}", self.server.addr())
    }

    /// The base URL to use as `OPENAI_BASE_URL`.
    pub fn openai_url(&self) -> String {
        format!("http://{}/v1", self.server.addr())
    }

    /// Answers the next request (after those already queued) with `answer`.
    pub fn answer_next(&self, answer: Answer) {
        self.state.queued.lock().unwrap().push_back(answer);
    }

    /// Answers every request with `answer` once the queue is empty.
    pub fn answer_always(&self, answer: Answer) {
        *self.state.standing.lock().unwrap() = answer;
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<LlmRequest> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Polls until at least `n` requests arrived or `deadline` passed; returns all requests.
    pub async fn wait_for_requests(&self, n: usize, deadline: Duration) -> Vec<LlmRequest> {
        poll_until(deadline, || self.requests(), |requests| requests.len() >= n).await
    }
}

/// Records the request and picks its answer, waiting out any delay.
async fn next_answer(request: &HttpRequest, body: &[u8], state: &State) -> Answer {
    let bearer = bearer_token(request);
    state.requests.lock().unwrap().push(LlmRequest {
        path: request.path().to_owned(),
        bearer,
        body: serde_json::from_slice(body).unwrap_or(Value::Null),
    });
    let queued = state.queued.lock().unwrap().pop_front();
    let mut answer = queued.unwrap_or_else(|| state.standing.lock().unwrap().clone());
    while let Answer::Delayed(delay, inner) = answer {
        actix_rt::time::sleep(delay).await;
        answer = *inner;
    }
    answer
}

fn model_of(body: &[u8]) -> Value {
    serde_json::from_slice::<Value>(body)
        .ok()
        .and_then(|b| b.get("model").cloned())
        .unwrap_or(Value::Null)
}

fn status(code: u16) -> actix_web::http::StatusCode {
    actix_web::http::StatusCode::from_u16(code).expect("a valid status")
}

async fn ollama_chat(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<State>,
) -> HttpResponse {
    let answer = next_answer(&request, &body, &state).await;
    let call =
        |name: &str, arguments: Value| json!({"function": {"name": name, "arguments": arguments}});
    let (content, calls) = match answer {
        Answer::ToolCall { name, arguments } => (String::new(), vec![call(&name, arguments)]),
        Answer::RawArguments { name, raw } => {
            (String::new(), vec![call(&name, Value::String(raw))])
        }
        Answer::ToolCalls(calls) => (
            String::new(),
            calls.into_iter().map(|(n, a)| call(&n, a)).collect(),
        ),
        Answer::Text(text) => (text, Vec::new()),
        Answer::Status(code) => {
            return HttpResponse::build(status(code))
                .json(json!({"error": "model runner has unexpectedly stopped"}))
        }
        Answer::Delayed(..) => unreachable!("delays are waited out"),
    };
    let mut message = json!({"role": "assistant", "content": content});
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    HttpResponse::Ok().json(json!({
        "model": model_of(&body),
        "created_at": "2026-11-25T08:00:00.000000Z",
        "message": message,
        "done_reason": "stop",
        "done": true,
        "total_duration": 123_456_789,
        "load_duration": 1_234_567,
        "prompt_eval_count": 120,
        "prompt_eval_duration": 12_345_678,
        "eval_count": 25,
        "eval_duration": 98_765_432
    }))
}

async fn openai_completions(
    request: HttpRequest,
    body: web::Bytes,
    state: web::Data<State>,
) -> HttpResponse {
    let answer = next_answer(&request, &body, &state).await;
    let call = |i: usize, name: &str, arguments: String| {
        json!({
            "id": format!("call_fake{i}"),
            "type": "function",
            "function": {"name": name, "arguments": arguments}
        })
    };
    let (content, calls) = match answer {
        Answer::ToolCall { name, arguments } => {
            (Value::Null, vec![call(0, &name, arguments.to_string())])
        }
        Answer::RawArguments { name, raw } => (Value::Null, vec![call(0, &name, raw)]),
        Answer::ToolCalls(calls) => (
            Value::Null,
            calls
                .into_iter()
                .enumerate()
                .map(|(i, (n, a))| call(i, &n, a.to_string()))
                .collect(),
        ),
        Answer::Text(text) => (Value::String(text), Vec::new()),
        Answer::Status(code) => {
            return HttpResponse::build(status(code)).json(json!({
                "error": {
                    "message": "The server had an error while processing your request.",
                    "type": "server_error",
                    "param": null,
                    "code": null
                }
            }))
        }
        Answer::Delayed(..) => unreachable!("delays are waited out"),
    };
    let finish_reason = if calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    let mut message = json!({"role": "assistant", "content": content, "refusal": null});
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    HttpResponse::Ok().json(json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_795_000_000,
        "model": model_of(&body),
        "choices": [{
            "index": 0,
            "message": message,
            "logprobs": null,
            "finish_reason": finish_reason
        }],
        "usage": {"prompt_tokens": 120, "completion_tokens": 25, "total_tokens": 145}
    }))
}
