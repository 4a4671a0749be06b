//! Plain language through an optional LLM, against a fake LLM speaking Ollama's and OpenAI's
//! real wire formats: a valid tool call changes the list; an unknown tool, invalid arguments,
//! an error or a time-out change nothing and answer with help; text the grammar understands
//! never reaches the LLM.

use alfred_testkit::graph::RecordedRequest;
use alfred_testkit::llm::{Answer, FakeLlm};
use alfred_testkit::whatsapp;
use serde_json::json;

use crate::helpers::*;

const DANA: &str = "4917011111111";
const HELP_START: &str = "Sorry, I didn't understand that. Here is what I can do:";

/// An Alfred whose LLM is the fake, over Ollama's API. The claim time is well above the LLM
/// timeout so a slow answer is not mistaken for a dead consumer.
async fn spawn_with_ollama(fake: &FakeLlm, extra: &[(&str, String)]) -> TestApp {
    let mut vars = vec![
        ("OLLAMA_URL", fake.ollama_url()),
        ("INGEST_CLAIM_IDLE_MS", "10000".to_owned()),
    ];
    vars.extend(extra.iter().cloned());
    TestApp::spawn_with(&vars, Vec::new()).await
}

/// Sends `text` from Dana as `wamid` and returns Alfred's one reply to it.
async fn say(app: &TestApp, wamid: &str, text: &str) -> RecordedRequest {
    app.post_signed(&whatsapp::text_message(PHONE_ID, DANA, "Dana", wamid, text))
        .await;
    eventually("Alfred's reply", || async {
        app.backends
            .graph
            .requests()
            .into_iter()
            .find(|send| send.reply_to() == Some(wamid))
    })
    .await
}

/// `alfred_llm_requests_total{result}` from `/metrics`.
async fn llm_requests(app: &TestApp, result: &str) -> u64 {
    app.metric(&format!("alfred_llm_requests_total{{result=\"{result}\"}}"))
        .await
}

fn apples_two_kilos() -> Answer {
    Answer::tool(
        "grocery_add",
        json!({"items": [{"name": "apples", "quantity": 2, "unit": "kg"}]}),
    )
}

#[actix_rt::test]
async fn a_valid_tool_call_from_the_llm_changes_the_list() {
    let llm = FakeLlm::start().await;
    llm.answer_always(apples_two_kilos());
    let app = spawn_with_ollama(&llm, &[]).await;

    let reply = say(&app, "wamid.L1", "could you get us some apples, two kilos").await;

    let text = reply.text().unwrap();
    assert!(text.contains("2 kg apples"), "the reply says so: {text}");
    assert_eq!(app.backends.grocery_items().await, vec!["apples"]);
    assert_eq!(app.backends.grocery_quantity("apples").await, Some(2.0));
    let asked = llm.requests();
    assert_eq!(
        asked[0].user_text(),
        Some("could you get us some apples, two kilos")
    );
    assert!(asked[0].tool_names().contains(&"grocery_add".to_owned()));
    assert_eq!(llm_requests(&app, "accepted").await, 1);
    assert_eq!(llm_requests(&app, "failed").await, 0);
}

#[actix_rt::test]
async fn an_openai_compatible_llm_is_asked_with_the_key_and_its_call_applies() {
    let llm = FakeLlm::start().await;
    llm.answer_always(Answer::tool("grocery_remove", json!({"items": ["milk"]})));
    let app = TestApp::spawn_with(
        &[
            ("OPENAI_API_KEY", "sk-e2e-key".to_owned()),
            ("OPENAI_BASE_URL", llm.openai_url()),
            ("INGEST_CLAIM_IDLE_MS", "10000".to_owned()),
        ],
        Vec::new(),
    )
    .await;
    say(&app, "wamid.O1", "add milk").await;

    let reply = say(&app, "wamid.O2", "no need for milk anymore").await;

    assert!(reply.text().unwrap().contains("Removed milk"), "{reply:?}");
    assert!(app.backends.grocery_items().await.is_empty());
    let asked = llm.requests();
    assert_eq!(
        asked.len(),
        1,
        "only the text the grammar missed: {asked:?}"
    );
    assert_eq!(asked[0].bearer.as_deref(), Some("sk-e2e-key"));
}

#[actix_rt::test]
async fn an_unknown_tool_changes_nothing_and_the_user_gets_help() {
    let llm = FakeLlm::start().await;
    llm.answer_always(Answer::tool("grocery_clear", json!({})));
    let app = spawn_with_ollama(&llm, &[]).await;
    say(&app, "wamid.U1", "add milk").await;

    let reply = say(&app, "wamid.U2", "throw everything away").await;

    assert!(reply.text().unwrap().starts_with(HELP_START), "{reply:?}");
    assert_eq!(app.backends.grocery_items().await, vec!["milk"]);
}

#[actix_rt::test]
async fn invalid_arguments_change_nothing_and_the_user_gets_help() {
    let llm = FakeLlm::start().await;
    llm.answer_always(Answer::tool(
        "grocery_add",
        json!({"items": [{"name": "apples", "quantity": -2, "unit": "kg"}]}),
    ));
    let app = spawn_with_ollama(&llm, &[]).await;

    let reply = say(
        &app,
        "wamid.I1",
        "could you get us minus two kilos of apples",
    )
    .await;

    let text = reply.text().unwrap();
    assert!(text.starts_with(HELP_START), "{text}");
    assert!(text.contains("add milk, eggs and 2 kg apples"), "{text}");
    app.quiescent().await;
    assert!(app.backends.grocery_items().await.is_empty());
}

#[actix_rt::test]
async fn an_llm_slower_than_the_timeout_falls_back_to_help() {
    let llm = FakeLlm::start().await;
    llm.answer_always(Answer::Delayed(
        std::time::Duration::from_secs(5),
        Box::new(apples_two_kilos()),
    ));
    let app = spawn_with_ollama(&llm, &[("LLM_TIMEOUT_MS", "300".to_owned())]).await;

    let reply = say(&app, "wamid.T1", "could you get us some apples, two kilos").await;

    assert!(reply.text().unwrap().starts_with(HELP_START), "{reply:?}");
    app.quiescent().await;
    assert!(app.backends.grocery_items().await.is_empty());
    assert_eq!(app.backends.graph.requests().len(), 1, "one answer only");
}

#[actix_rt::test]
async fn a_failing_llm_falls_back_to_help() {
    let llm = FakeLlm::start().await;
    llm.answer_always(Answer::Status(500));
    let app = spawn_with_ollama(&llm, &[]).await;

    let reply = say(&app, "wamid.F1", "could you get us some apples").await;

    assert!(reply.text().unwrap().starts_with(HELP_START), "{reply:?}");
    assert_eq!(llm.requests().len(), 1);
    assert!(app.backends.grocery_items().await.is_empty());
    assert_eq!(llm_requests(&app, "failed").await, 1);
    assert_eq!(llm_requests(&app, "accepted").await, 0);
}

#[actix_rt::test]
async fn text_the_grammar_understands_never_reaches_the_llm() {
    let llm = FakeLlm::start().await;
    llm.answer_always(apples_two_kilos());
    let app = spawn_with_ollama(&llm, &[]).await;

    say(&app, "wamid.G1", "add bananas").await;
    let help = say(&app, "wamid.G2", "help").await;
    say(&app, "wamid.G3", "list").await;

    app.quiescent().await;
    assert!(
        llm.requests().is_empty(),
        "the LLM was asked: {:?}",
        llm.requests()
    );
    assert!(help.text().unwrap().starts_with("Here is what I can do:"));
    assert_eq!(app.backends.grocery_items().await, vec!["bananas"]);
}
