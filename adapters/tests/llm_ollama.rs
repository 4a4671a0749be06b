//! The Ollama client against a fake speaking Ollama's `/api/chat` wire format.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use alfred_actors::llm::{LlmClient, LlmError, ToolCall, ToolSpec};
use alfred_adapters::llm::OllamaClient;
use alfred_testkit::llm::{Answer, FakeLlm};
use serde_json::json;

const TIMEOUT: Duration = Duration::from_secs(10);

fn tools() -> Vec<ToolSpec> {
    vec![ToolSpec {
        name: "grocery_add".into(),
        description: "Add items to the shopping list".into(),
        parameters: json!({
            "type": "object",
            "properties": {"items": {"type": "array", "items": {"type": "object"}}},
            "required": ["items"]
        }),
    }]
}

fn client(fake: &FakeLlm) -> OllamaClient {
    OllamaClient::new(&fake.ollama_url(), "llama3.2", TIMEOUT).unwrap()
}

/// What the client makes of `text` with [`tools`], against `fake`.
async fn ask(fake: &FakeLlm, text: &str) -> Result<Option<ToolCall>, LlmError> {
    client(fake).tool_call(text, &tools()).await
}

#[actix_web::test]
async fn a_tool_call_comes_back_with_its_arguments_as_an_object() {
    let fake = FakeLlm::start().await;
    let arguments = json!({"items": [{"name": "apples", "quantity": 2, "unit": "kg"}]});
    fake.answer_next(Answer::tool("grocery_add", arguments.clone()));

    let call = ask(&fake, "could you get us some apples, two kilos")
        .await
        .unwrap()
        .expect("a tool call");

    assert_eq!(call.name, "grocery_add");
    assert_eq!(call.arguments, arguments);
}

#[actix_web::test]
async fn the_request_is_a_non_streamed_chat_with_the_message_and_the_tools() {
    let fake = FakeLlm::start().await;

    ask(&fake, "add some apples").await.unwrap();

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, "/api/chat");
    assert_eq!(request.body["model"], "llama3.2");
    assert_eq!(request.body["stream"], false);
    assert_eq!(request.user_text(), Some("add some apples"));
    assert_eq!(request.tool_names(), vec!["grocery_add"]);
    assert_eq!(request.body["tools"][0]["type"], "function");
    assert_eq!(
        request.body["tools"][0]["function"]["parameters"],
        tools()[0].parameters
    );
    assert_eq!(request.bearer, None, "Ollama needs no key");
}

#[actix_web::test]
async fn a_plain_text_answer_is_no_tool_call() {
    let fake = FakeLlm::start().await;
    fake.answer_next(Answer::Text("What would you like?".into()));

    let call = ask(&fake, "hello there").await.unwrap();

    assert_eq!(call, None);
}

#[actix_web::test]
async fn a_server_error_is_reported_with_its_status_only() {
    let fake = FakeLlm::start().await;
    fake.answer_next(Answer::Status(500));

    let error = ask(&fake, "private family text").await.unwrap_err();

    assert!(matches!(error, LlmError::Status(500)), "{error:?}");
    assert!(!error.to_string().contains("private family text"));
}

#[actix_web::test]
async fn several_tool_calls_in_one_answer_are_refused_as_a_whole() {
    let fake = FakeLlm::start().await;
    fake.answer_next(Answer::ToolCalls(vec![
        ("grocery_add".into(), json!({"items": [{"name": "milk"}]})),
        ("grocery_remove".into(), json!({"items": ["eggs"]})),
    ]));

    let error = ask(&fake, "milk in, eggs out").await.unwrap_err();

    assert!(matches!(error, LlmError::InvalidResponse(_)), "{error:?}");
}

#[actix_web::test]
async fn arguments_sent_as_a_json_string_are_parsed_too() {
    let fake = FakeLlm::start().await;
    fake.answer_next(Answer::RawArguments {
        name: "grocery_add".into(),
        raw: r#"{"items":[{"name":"milk"}]}"#.into(),
    });

    let call = ask(&fake, "milk").await.unwrap().unwrap();

    assert_eq!(call.arguments, json!({"items": [{"name": "milk"}]}));
}

#[actix_web::test]
async fn a_server_that_is_not_there_is_unreachable() {
    let fake = FakeLlm::start().await;
    let url = fake.ollama_url();
    drop(fake);
    let client = OllamaClient::new(&url, "llama3.2", TIMEOUT).unwrap();

    // The port may take a moment to close after the fake stops: the test fails unless the
    // client finds it unreachable within a second.
    alfred_testkit::eventually(
        "the stopped server to be unreachable",
        Duration::from_secs(1),
        || async {
            let answer = client.tool_call("milk", &tools()).await;
            matches!(answer, Err(LlmError::Unreachable(_))).then_some(())
        },
    )
    .await;
}

#[actix_web::test]
async fn an_answer_slower_than_the_timeout_is_a_timeout() {
    let fake = FakeLlm::start().await;
    fake.answer_next(Answer::Delayed(
        Duration::from_secs(5),
        Box::new(Answer::Text("late".into())),
    ));
    let client =
        OllamaClient::new(&fake.ollama_url(), "llama3.2", Duration::from_millis(200)).unwrap();

    let error = client.tool_call("milk", &tools()).await.unwrap_err();

    assert!(matches!(error, LlmError::TimedOut(_)), "{error:?}");
}
