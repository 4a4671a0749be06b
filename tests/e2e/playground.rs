//! The playground (issue 11, item 5): in ephemeral mode a newcomer talks to the real actor
//! system in a browser; scheduled messages show up too; bad input gets a clear JSON error; with
//! durable stores (or a platform reaching the listener) none of it is mounted.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred::app::App;
use alfred_config::Settings;
use serde_json::{json, Value};

use crate::helpers::*;

const DANA: &str = "4917011111111";
const SAM: &str = "4917022222222";

/// POSTs `{"from", "text"}` to the playground; the status and the JSON answer.
async fn say(base: &str, from: &str, text: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{base}/playground/messages"))
        .json(&json!({ "from": from, "text": text }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// The texts of the replies in a playground answer.
fn reply_texts(answer: &Value) -> Vec<String> {
    answer["replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|reply| reply["text"].as_str().unwrap().to_owned())
        .collect()
}

/// The playground's feed after `after`.
async fn feed(base: &str, after: u64) -> Vec<Value> {
    let body: Value = reqwest::get(format!("{base}/playground/messages?after={after}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["messages"].as_array().unwrap().clone()
}

#[actix_rt::test]
async fn the_playground_answers_add_milk_and_the_list_then_shows_milk() {
    let app = EphemeralApp::spawn(&[]).await;

    let (status, added) = say(&app.base, "Dana", "add milk").await;
    let (_, listed) = say(&app.base, "Sam", "list").await;

    assert_eq!(status, 200, "{added}");
    assert_eq!(added["complete"], true, "{added}");
    let added = reply_texts(&added);
    assert_eq!(added.len(), 1, "one reply: {added:?}");
    assert!(added[0].contains("milk"), "{added:?}");
    let listed = reply_texts(&listed);
    assert!(
        listed.iter().any(|text| text.contains("milk")),
        "everyone on the playground shares one list: {listed:?}"
    );
    let feed = feed(&app.base, 0).await;
    let kinds: Vec<&str> = feed.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["message", "reply", "message", "reply"]);
    assert_eq!(feed[1]["to"], "Dana", "a reply names whom it answers");
}

#[actix_rt::test]
async fn the_page_has_a_strict_content_security_policy_and_stable_hooks() {
    let app = EphemeralApp::spawn(&[]).await;
    say(&app.base, "Dana", "add <b>milk</b>").await;

    let page = reqwest::get(format!("{}/", app.base)).await.unwrap();
    let policy = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    let html = page.text().await.unwrap();
    let script = reqwest::get(format!("{}/playground/playground.js", app.base))
        .await
        .unwrap();

    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert!(policy.contains("script-src 'self'"), "{policy}");
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    for hook in [
        "id=\"transcript\"",
        "id=\"message\"",
        "id=\"send\"",
        "id=\"from\"",
    ] {
        assert!(html.contains(hook), "{hook} is missing:\n{html}");
    }
    assert!(
        html.contains("add &lt;b&gt;milk&lt;/b&gt;") && !html.contains("<b>milk"),
        "the transcript is rendered on the server, escaped:\n{html}"
    );
    assert_eq!(script.status(), 200);
    assert!(script.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
}

#[actix_rt::test]
async fn bad_input_gets_a_clear_json_error() {
    let app = EphemeralApp::spawn(&[]).await;
    let url = format!("{}/playground/messages", app.base);
    let http = reqwest::Client::new();
    let post = |body: &'static str, content_type: &'static str| {
        http.post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    let cases = [
        (
            post("{\"from\": \"Dana\"", "application/json")
                .await
                .unwrap(),
            400,
            "add milk",
        ),
        (
            post("{\"from\": \"Dana\"}", "application/json")
                .await
                .unwrap(),
            400,
            "text",
        ),
        (
            post("{\"from\": \" \", \"text\": \"hi\"}", "application/json")
                .await
                .unwrap(),
            400,
            "from",
        ),
        (
            post("{\"from\": \"Dana\", \"text\": \"  \"}", "application/json")
                .await
                .unwrap(),
            400,
            "text",
        ),
        (
            post("from=Dana&text=hi", "application/x-www-form-urlencoded")
                .await
                .unwrap(),
            415,
            "application/json",
        ),
        (
            http.get(format!("{url}?after=soon")).send().await.unwrap(),
            400,
            "after",
        ),
    ];

    for (response, status, names) in cases {
        assert_eq!(response.status().as_u16(), status);
        let body: Value = response.json().await.unwrap();
        let error = body["error"].as_str().unwrap();
        assert!(error.contains(names), "{error:?} should mention {names}");
    }
    assert!(
        feed(&app.base, 0).await.is_empty(),
        "nothing bad reached Alfred"
    );
}

#[actix_rt::test]
async fn an_over_long_text_is_answered_like_any_message() {
    let app = EphemeralApp::spawn(&[("MAX_TEXT_CHARS", "50".to_owned())]).await;

    let (status, answer) = say(&app.base, "Dana", &format!("add {}", "m".repeat(100))).await;

    assert_eq!(status, 200, "{answer}");
    let replies = reply_texts(&answer);
    assert_eq!(replies.len(), 1, "{replies:?}");
    assert!(replies[0].contains("too long"), "{replies:?}");
}

/// A household in Berlin whose 07:00 briefing goes to Dana's chat; Sam is a member too.
fn households_file() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("alfred-playground-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("households.toml");
    std::fs::write(
        &path,
        format!(
            "[[household]]\nid = \"smiths\"\nname = \"The Smiths\"\ntimezone = \"Europe/Berlin\"\n\
             members = [{{ name = \"Dana\", whatsapp = \"{DANA}\" }}, {{ name = \"Sam\", whatsapp = \"{SAM}\" }}]\n\
             [household.briefing]\ntime = \"07:00\"\nto = \"Dana\"\n"
        ),
    )
    .unwrap();
    path
}

#[actix_rt::test]
async fn a_household_members_briefing_shows_up_in_the_feed() {
    let file = households_file();
    let app = EphemeralApp::spawn(&[
        ("HOUSEHOLDS_FILE", file.display().to_string()),
        ("CLOCK", "manual".to_owned()),
        // 06:00 in Berlin.
        ("CLOCK_START", "2026-11-26T05:00:00Z".to_owned()),
    ])
    .await;
    // Sam speaks as a member: into the household's list, which Dana's briefing shows.
    let (status, added) = say(&app.base, "sam", "add milk").await;
    assert_eq!(status, 200, "{added}");
    assert_eq!(added["as"]["household"], "The Smiths", "{added}");
    let seen = feed(&app.base, 0).await.len() as u64;

    let moved = reqwest::Client::new()
        .post(format!("{}/admin/clock", app.admin))
        .bearer_auth(ADMIN_KEY)
        .json(&json!({ "now": "2026-11-26T06:05:00Z" }))
        .send()
        .await
        .unwrap();
    assert_eq!(moved.status(), 200);

    let base = app.base.clone();
    let briefing = eventually("the briefing to appear in the playground's feed", || {
        let base = base.clone();
        async move {
            feed(&base, seen)
                .await
                .into_iter()
                .find(|entry| entry["kind"] == "scheduled")
        }
    })
    .await;
    assert_eq!(briefing["to"], "Dana", "{briefing}");
    assert!(
        briefing["text"].as_str().unwrap().contains("milk"),
        "the briefing shows the household's list: {briefing}"
    );
    let _ = std::fs::remove_dir_all(file.parent().unwrap());
}

/// `GET /`, `GET /playground/messages` and a POST of "add milk" all answer 404.
async fn assert_no_playground(base: &str) {
    let http = reqwest::Client::new();
    let page = http.get(format!("{base}/")).send().await.unwrap();
    let read = http
        .get(format!("{base}/playground/messages"))
        .send()
        .await
        .unwrap();
    let posted = http
        .post(format!("{base}/playground/messages"))
        .json(&json!({ "from": "Dana", "text": "add milk" }))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
    assert_eq!(read.status(), 404);
    assert_eq!(posted.status(), 404);
}

#[actix_rt::test]
async fn the_playground_is_absent_in_durable_mode() {
    // Redis and Postgres, and no platform: durability alone keeps the playground off.
    let backends = Backends::new().await;
    let whatsapp: Vec<&str> = whatsapp_vars(&backends.graph)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let env: Vec<(String, String)> = backends
        .env(&[])
        .into_iter()
        .filter(|(name, _)| !whatsapp.contains(&name.as_str()))
        .collect();
    let settings = Settings::from_vars(env).unwrap();
    assert!(!settings.is_ephemeral() && settings.whatsapp.is_none());
    let app = App::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.http_port());
    actix_rt::spawn(app.run_until_stopped());

    assert_no_playground(&base).await;
    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200, "the listener itself is up");
}

#[actix_rt::test]
async fn the_playground_is_off_in_ephemeral_mode_with_whatsapp_configured() {
    let graph = alfred_testkit::graph::FakeGraph::start().await;
    let app = EphemeralApp::spawn(&whatsapp_vars(&graph)).await;

    assert_no_playground(&app.base).await;
}
