//! The real morning briefing, end to end: a household file with a 07:00 briefing, a manual
//! clock, chores and list items added by WhatsApp messages, and the briefing arriving once at
//! the fake Graph API with them; outside WhatsApp's 24-hour window the approved template
//! instead (as the Graph API's `type: "template"` message); and "briefing" on demand.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use alfred_actors::skill::SkillEntry;
use alfred_testkit::whatsapp;

use crate::helpers::*;

const DANA: &str = "4917011111111";

/// The chores skill, ahead of the instance's skills (as in the Home routing order), so the
/// test can add chores by message.
fn chores() -> SkillEntry {
    SkillEntry {
        route: alfred_skills_home::chores::route(),
        access: alfred_actors::access::Access::Members,
        factory: Arc::new(alfred_skills_home::chores::skill),
    }
}

/// A household in Berlin with a 07:00 briefing to Dana's chat and an approved template.
fn household() -> Vec<(&'static str, String)> {
    let dir = std::env::temp_dir().join(format!("alfred-briefing-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("households.toml");
    std::fs::write(
        &file,
        format!(
            "[[household]]\nid = \"smiths\"\ntimezone = \"Europe/Berlin\"\n\
             members = [{{ name = \"Dana\", whatsapp = \"{DANA}\" }}]\n\
             [household.briefing]\ntime = \"07:00\"\nto = \"Dana\"\ncatch_up_minutes = 120\n\
             template = {{ name = \"morning_briefing\", language = \"en_US\" }}\n"
        ),
    )
    .unwrap();
    vec![("HOUSEHOLDS_FILE", file.display().to_string())]
}

/// Dana says `text` and Alfred has answered `replies` messages in all.
async fn dana_says(app: &TestApp, wamid: &str, text: &str, replies: usize) {
    app.post_signed(&whatsapp::text_message(PHONE_ID, DANA, "Dana", wamid, text))
        .await;
    app.backends
        .graph
        .wait_for_requests(replies, DEADLINE)
        .await;
}

#[actix_rt::test]
async fn the_morning_briefing_arrives_once_with_the_list_and_the_chores() {
    // 06:00 in Berlin on Thursday 26 November 2026, an hour before the briefing.
    let app = TestApp::spawn_at("2026-11-26T05:00:00Z", &household(), vec![chores()]).await;
    dana_says(&app, "wamid.B1", "add milk and 2 kg apples", 1).await;
    dana_says(&app, "wamid.B2", "add chore dishes daily for Dana", 2).await;

    app.set_clock("2026-11-26T06:00:30Z").await; // 07:00:30 in Berlin: due
    let sends = app.backends.graph.wait_for_requests(3, DEADLINE).await;
    app.set_clock("2026-11-26T15:00:00Z").await; // later the same local day
    app.quiescent().await;

    let briefings: Vec<_> = app
        .backends
        .graph
        .requests()
        .into_iter()
        .filter(|r| r.reply_to().is_none())
        .collect();
    assert_eq!(briefings.len(), 1, "one briefing: {briefings:?}");
    assert_eq!(briefings[0], sends[2]);
    assert_eq!(briefings[0].to(), Some(DANA));
    let text = briefings[0]
        .text()
        .expect("free text: Dana wrote an hour ago");
    assert!(
        text.starts_with("Good morning! It's Thursday, 26 November 2026."),
        "{text}"
    );
    assert!(
        text.contains("🧹 *Chores today*\n• dishes — Dana"),
        "{text}"
    );
    assert!(
        text.contains("2 items to buy\n• Produce: 2 kg apples\n• Dairy & eggs: milk"),
        "{text}"
    );
}

#[actix_rt::test]
async fn briefing_on_demand_answers_with_todays_briefing() {
    let app = TestApp::spawn_at("2026-11-26T05:00:00Z", &household(), Vec::new()).await;
    dana_says(&app, "wamid.D1", "add bread", 1).await;

    dana_says(&app, "wamid.D2", "morning briefing", 2).await;

    let sends = app.backends.graph.requests();
    let answer = sends
        .iter()
        .find(|s| s.reply_to() == Some("wamid.D2"))
        .expect("the briefing quotes Dana's question");
    let text = answer.text().unwrap();
    assert!(
        text.starts_with("Good morning! It's Thursday, 26 November 2026."),
        "{text}"
    );
    assert!(text.contains("1 item to buy\n• Bakery: bread"), "{text}");
}

#[test]
fn the_households_file_names_exactly_the_briefings_template_fields() {
    let skill: Vec<&str> = alfred_skills_home::briefing::TemplateField::ALL
        .iter()
        .map(|field| field.key())
        .collect();

    assert_eq!(
        skill,
        alfred_config::households::BRIEFING_TEMPLATE_FIELDS.to_vec()
    );
}

#[actix_rt::test]
async fn outside_the_24_hour_window_the_briefing_goes_out_as_the_approved_template() {
    // Dana last wrote at 06:00 on Wednesday; Thursday's 07:00 briefing is 25 hours later.
    let app = TestApp::spawn_at("2026-11-25T05:00:00Z", &household(), Vec::new()).await;
    dana_says(&app, "wamid.W1", "add milk", 1).await;

    app.set_clock("2026-11-26T06:00:30Z").await;
    let sends = app.backends.graph.wait_for_requests(2, DEADLINE).await;

    let briefing = &sends[1].body;
    assert_eq!(sends[1].to(), Some(DANA));
    assert_eq!(briefing["type"], "template", "{briefing}");
    assert_eq!(briefing["template"]["name"], "morning_briefing");
    assert_eq!(briefing["template"]["language"]["code"], "en_US");
    let parameters: Vec<&str> = briefing["template"]["components"][0]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        parameters,
        vec![
            "Thursday, 26 November 2026",
            "nothing due",
            "1 item: milk",
            "none"
        ]
    );
}
