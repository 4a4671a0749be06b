//! Triage by the LLM through the real Ollama and OpenAI clients against the fake LLM server:
//! a valid `triage_mail` call is used, anything else falls back to the heuristic, set-aside
//! mail never reaches the LLM, and a mail is put to it once.

mod inbox_support;

use std::time::Duration;

use alfred_actors::llm::Llm;
use alfred_skills_biz::inbox::{self, heuristic, parse_mail, triage, Category, TriageBy};
use alfred_testkit::llm::{Answer, FakeLlm};
use inbox_support::*;
use serde_json::json;

/// Both wire formats, each against its own fake.
async fn llms() -> Vec<(FakeLlm, Llm)> {
    let (ollama_fake, openai_fake) = (FakeLlm::start().await, FakeLlm::start().await);
    let (a, b) = (
        ollama(&ollama_fake, LLM_TIMEOUT),
        openai(&openai_fake, LLM_TIMEOUT),
    );
    vec![(ollama_fake, a), (openai_fake, b)]
}

fn renewal_call() -> Answer {
    Answer::tool(
        "triage_mail",
        json!({
            "category": "urgent",
            "why": "asks for a signature by Friday",
            "next_action": "sign and return today"
        }),
    )
}

#[actix_rt::test]
async fn a_valid_tool_call_is_the_triage() {
    for (fake, llm) in llms().await {
        fake.answer_next(renewal_call());
        let mail = parse_mail(URGENT_ALTERNATIVE.as_bytes());

        let triage = triage(&mail, Some(&llm)).await;

        assert_eq!(triage.category, Category::Urgent);
        assert_eq!(triage.why, "asks for a signature by Friday");
        assert_eq!(triage.next_action, "sign and return today");
        assert_eq!(triage.by, TriageBy::Llm);
        let requests = fake.requests();
        assert_eq!(requests.len(), 1);
        assert_eq!(requests[0].tool_names(), vec!["triage_mail"]);
        let text = requests[0].user_text().unwrap();
        assert!(
            text.contains("Subject: URGENT: contract renewal due Friday"),
            "{text}"
        );
        assert!(text.contains("From: Ana López <ana@acme.com>"), "{text}");
        assert!(text.contains("Can you sign and return it?"), "{text}");
    }
}

#[actix_rt::test]
async fn long_or_multi_line_answers_are_made_one_short_line() {
    for (fake, llm) in llms().await {
        fake.answer_next(Answer::tool(
            "triage_mail",
            json!({
                "category": "Needs reply",
                "why": format!("  asks about lunch\n\n{}", "very ".repeat(100)),
                "next_action": "reply\tto Dana "
            }),
        ));

        let triage = triage(&parse_mail(NO_MESSAGE_ID.as_bytes()), Some(&llm)).await;

        assert_eq!(triage.category, Category::NeedsReply);
        assert!(triage.why.starts_with("asks about lunch very very"));
        assert!(triage.why.chars().count() <= 200);
        assert!(!triage.why.contains('\n'));
        assert_eq!(triage.next_action, "reply to Dana");
        assert_eq!(triage.by, TriageBy::Llm);
    }
}

#[actix_rt::test]
async fn an_invalid_answer_falls_back_to_the_heuristic() {
    let invalid = [
        Answer::tool(
            "triage_mail",
            json!({"category": "spam", "why": "x", "next_action": "y"}),
        ),
        Answer::tool(
            "triage_mail",
            json!({"category": "fyi", "why": "  ", "next_action": "read it"}),
        ),
        Answer::tool("triage_mail", json!({"category": "fyi", "why": "x"})),
        Answer::tool(
            "grocery_add",
            json!({"category": "fyi", "why": "x", "next_action": "y"}),
        ),
        Answer::RawArguments {
            name: "triage_mail".into(),
            raw: "category=urgent".into(),
        },
        Answer::Text("This looks urgent to me.".into()),
    ];
    let mail = parse_mail(URGENT_ALTERNATIVE.as_bytes());
    for (fake, llm) in llms().await {
        for answer in invalid.clone() {
            fake.answer_next(answer.clone());

            let triage = triage(&mail, Some(&llm)).await;

            assert_eq!(triage, heuristic(&mail), "{answer:?}");
        }
        assert_eq!(fake.requests().len(), invalid.len());
    }
}

#[actix_rt::test]
async fn an_llm_that_is_down_failing_or_too_slow_leaves_the_heuristic() {
    let mail = parse_mail(WAITING_ENCODED.as_bytes());
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let down = Llm {
        client: std::sync::Arc::new(
            alfred_adapters::llm::OllamaClient::new(&down_url, "llama3.2", LLM_TIMEOUT).unwrap(),
        ),
        timeout: LLM_TIMEOUT,
    };
    assert_eq!(triage(&mail, Some(&down)).await, heuristic(&mail));

    for (fake, llm) in llms().await {
        fake.answer_next(Answer::Status(500));
        assert_eq!(triage(&mail, Some(&llm)).await, heuristic(&mail));

        fake.answer_next(Answer::Delayed(
            Duration::from_secs(3),
            Box::new(renewal_call()),
        ));
        let impatient = Llm {
            timeout: Duration::from_millis(200),
            ..llm
        };
        assert_eq!(triage(&mail, Some(&impatient)).await, heuristic(&mail));
        assert_eq!(fake.requests().len(), 2);
    }
}

#[actix_rt::test]
async fn without_an_llm_the_heuristic_triages() {
    let mail = parse_mail(URGENT_ALTERNATIVE.as_bytes());
    assert_eq!(triage(&mail, None).await, heuristic(&mail));
}

#[actix_rt::test]
async fn ingest_asks_the_llm_once_per_mail_and_never_about_set_aside_mail() {
    for (fake, llm) in llms().await {
        let db = Db::create().await;
        fake.answer_always(renewal_call());
        let raws: Vec<Vec<u8>> = [URGENT_ALTERNATIVE, NEWSLETTER, NO_REPLY]
            .iter()
            .map(|raw| raw.as_bytes().to_vec())
            .collect();

        let first = inbox::ingest(&db.store, &raws, Some(&llm), now())
            .await
            .unwrap();
        let second = inbox::ingest(&db.store, &raws, Some(&llm), now())
            .await
            .unwrap();

        assert_eq!((first.stored, first.set_aside, first.summarised), (3, 2, 1));
        assert_eq!((second.duplicates, second.summarised), (3, 0));
        let requests = fake.requests();
        assert_eq!(requests.len(), 1, "one mail, asked once");
        let text = requests[0].user_text().unwrap();
        assert!(text.contains("contract renewal"), "{text}");
        assert_eq!(
            db.triage_of("<CAF1234.renewal@mail.acme.com>").await,
            (
                Some("urgent".into()),
                Some("asks for a signature by Friday".into()),
                Some("sign and return today".into()),
                Some("llm".into())
            )
        );
        db.drop().await;
    }
}

#[actix_rt::test]
async fn ingest_falls_back_to_the_heuristic_per_mail_when_the_llm_fails() {
    let fake = FakeLlm::start().await;
    let llm = ollama(&fake, LLM_TIMEOUT);
    let db = Db::create().await;
    fake.answer_next(Answer::Status(503));
    fake.answer_next(Answer::tool(
        "triage_mail",
        json!({"category": "fyi", "why": "workshop notes", "next_action": "skim the slides"}),
    ));
    let raws = vec![
        URGENT_ALTERNATIVE.as_bytes().to_vec(),
        HTML_ONLY.as_bytes().to_vec(),
    ];

    let report = inbox::ingest(&db.store, &raws, Some(&llm), now())
        .await
        .unwrap();

    assert_eq!(report.summarised, 2);
    assert_eq!(
        db.triage_of("<CAF1234.renewal@mail.acme.com>").await.3,
        Some("heuristic".into())
    );
    assert_eq!(
        db.triage_of("<workshop-notes-42@globex.com>").await,
        (
            Some("fyi".into()),
            Some("workshop notes".into()),
            Some("skim the slides".into()),
            Some("llm".into())
        )
    );
    db.drop().await;
}
