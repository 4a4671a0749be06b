//! Chores through the whole app: managed in the chat, and reminded at the household's reminder
//! time — except in its quiet hours.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_testkit::whatsapp;

use crate::helpers::*;

const DANA: &str = "4917011111111";
const SAM: &str = "4917022222222";

/// A Berlin household whose chore reminders go to Dana's chat at `reminder` local time.
fn household(reminder: &str, quiet: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("alfred-chores-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("households.toml");
    std::fs::write(
        &path,
        format!(
            "[[household]]\nid = \"smiths\"\ntimezone = \"Europe/Berlin\"\n\
             members = [{{ name = \"Dana\", whatsapp = \"{DANA}\" }}, {{ name = \"Sam\", whatsapp = \"{SAM}\" }}]\n\
             [household.chores]\nreminder_time = \"{reminder}\"\nquiet_hours = \"{quiet}\"\n"
        ),
    )
    .unwrap();
    path
}

async fn spawn(reminder: &str, quiet: &str) -> TestApp {
    let path = household(reminder, quiet);
    // Thursday 2026-11-26, 09:00 in Berlin.
    TestApp::spawn_at(
        "2026-11-26T08:00:00Z",
        &[("HOUSEHOLDS_FILE", path.display().to_string())],
        Vec::new(),
    )
    .await
}

async fn say(app: &TestApp, from: &str, wamid: &str, text: &str) -> String {
    let before = app.backends.graph.requests().len();
    app.post_signed(&whatsapp::text_message(
        PHONE_ID, from, "Someone", wamid, text,
    ))
    .await;
    let sends = app
        .backends
        .graph
        .wait_for_requests(before + 1, DEADLINE)
        .await;
    sends
        .last()
        .and_then(|s| s.text().map(str::to_owned))
        .unwrap_or_default()
}

#[actix_rt::test]
async fn a_rotating_chore_is_added_done_and_passed_on_in_the_chat() {
    let app = spawn("18:00", "21:30-07:30").await;

    let added = say(
        &app,
        DANA,
        "wamid.C1",
        "add chore dishes daily rotating Dana, Sam",
    )
    .await;
    let done = say(&app, SAM, "wamid.C2", "Dana did the dishes").await;
    let listed = say(&app, DANA, "wamid.C3", "chores").await;

    assert!(
        added.contains("dishes") && added.contains("Dana"),
        "{added}"
    );
    assert!(done.contains("Sam"), "the turn passes to Sam: {done}");
    assert!(listed.contains("tomorrow, Sam"), "{listed}");
}

#[actix_rt::test]
async fn chores_due_are_reminded_at_the_reminder_time() {
    let app = spawn("18:00", "21:30-07:30").await;
    say(
        &app,
        DANA,
        "wamid.R1",
        "add chore water plants daily for Dana",
    )
    .await;

    app.set_clock("2026-11-26T17:00:30Z").await; // 18:00:30 in Berlin

    let sends = app.backends.graph.wait_for_requests(2, DEADLINE).await;
    let reminder = sends[1].text().unwrap();
    assert!(reminder.contains("water plants"), "{reminder}");
    assert_eq!(sends[1].reply_to(), None, "a reminder quotes nothing");
}

#[actix_rt::test]
async fn no_reminder_is_sent_in_quiet_hours() {
    let app = spawn("22:00", "21:30-07:30").await;
    say(
        &app,
        DANA,
        "wamid.Q1",
        "add chore water plants daily for Dana",
    )
    .await;

    app.set_clock("2026-11-26T21:00:30Z").await; // 22:00:30 in Berlin: quiet

    eventually("the reminder run to be handled", || async {
        app.backends
            .inbox_has("job:chore-reminders:smiths:2026-11-26")
            .await
            .then_some(())
    })
    .await;
    app.quiescent().await;
    assert_eq!(
        app.backends.graph.requests().len(),
        1,
        "only the answer to adding the chore"
    );
}
