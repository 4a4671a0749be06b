//! The OpenAI-compatible client against a fake speaking `/v1/chat/completions`.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use alfred_actors::llm::{LlmClient, LlmError, ToolCall, ToolSpec};
use alfred_adapters::llm::OpenAiClient;
use alfred_testkit::llm::{Answer, FakeLlm};
use serde_json::json;

const KEY: &str = "sk-test-secret-key-0123456789";
const TIMEOUT: Duration = Duration::from_secs(10);

fn tools() -> Vec<ToolSpec> {
    vec![ToolSpec {
        name: "grocery_remove".into(),
        description: "Take items off the shopping list".into(),
        parameters: json!({
            "type": "object",
            "properties": {"items": {"type": "array", "items": {"type": "string"}}},
            "required": ["items"]
        }),
    }]
}

fn client(fake: &FakeLlm) -> OpenAiClient {
    OpenAiClient::new(&fake.openai_url(), KEY.into(), "gpt-4o-mini", TIMEOUT).unwrap()
}

/// What the client makes of `text` with [`tools`], against `fake`.
async fn ask(fake: &FakeLlm, text: &str) -> Result<Option<ToolCall>, LlmError> {
    client(fake).tool_call(text, &tools()).await
}

#[actix_web::test]
async fn a_tool_call_comes_back_with_its_string_arguments_parsed() {
    let fake = FakeLlm::start().await;
    let arguments = json!({"items": ["milk"]});
    fake.answer_next(Answer::tool("grocery_remove", arguments.clone()));

    let call = ask(&fake, "we have enough milk now")
        .await
        .unwrap()
        .expect("a tool call");

    assert_eq!(call.name, "grocery_remove");
    assert_eq!(call.arguments, arguments);
}

#[actix_web::test]
async fn the_request_carries_the_key_the_message_and_the_tools() {
    let fake = FakeLlm::start().await;

    ask(&fake, "no more milk").await.unwrap();

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(request.bearer.as_deref(), Some(KEY));
    assert_eq!(request.body["model"], "gpt-4o-mini");
    assert_eq!(request.user_text(), Some("no more milk"));
    assert_eq!(request.tool_names(), vec!["grocery_remove"]);
    assert_eq!(request.body["tools"][0]["type"], "function");
}

#[actix_web::test]
async fn a_plain_text_answer_is_no_tool_call() {
    let fake = FakeLlm::start().await;
    fake.answer_next(Answer::Text("Sorry, I can only manage the list.".into()));

    let call = ask(&fake, "book a table").await.unwrap();

    assert_eq!(call, None);
}

#[actix_web::test]
async fn arguments_that_are_not_json_are_an_invalid_answer() {
    let fake = FakeLlm::start().await;
    fake.answer_next(Answer::RawArguments {
        name: "grocery_remove".into(),
        raw: "{items: milk".into(),
    });

    let error = ask(&fake, "no more milk").await.unwrap_err();

    assert!(matches!(error, LlmError::InvalidResponse(_)), "{error:?}");
}

#[actix_web::test]
async fn a_server_error_is_reported_without_the_key_or_the_message() {
    let fake = FakeLlm::start().await;
    fake.answer_next(Answer::Status(500));

    let error = ask(&fake, "private family text").await.unwrap_err();

    assert!(matches!(error, LlmError::Status(500)), "{error:?}");
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(KEY) && !shown.contains("private family text"));
}

#[actix_web::test]
async fn the_key_never_appears_in_debug_output() {
    let fake = FakeLlm::start().await;

    let shown = format!("{:?}", client(&fake));

    assert!(!shown.contains(KEY), "{shown}");
    assert!(shown.contains("REDACTED"));
}

#[actix_web::test]
async fn several_tool_calls_in_one_answer_are_refused_as_a_whole() {
    let fake = FakeLlm::start().await;
    fake.answer_next(Answer::ToolCalls(vec![
        ("grocery_remove".into(), json!({"items": ["milk"]})),
        ("grocery_remove".into(), json!({"items": ["eggs"]})),
    ]));

    let error = ask(&fake, "milk and eggs are done").await.unwrap_err();

    assert!(matches!(error, LlmError::InvalidResponse(_)), "{error:?}");
}
