//! Who may talk to Alfred, end to end on Redis and Postgres: a stranger on a Biz WhatsApp
//! number gets no CRM data while a `CRM_READERS` member does; with a households file a
//! stranger's messages get at most one refusal a day, which reveals nothing of the family, and
//! the members are answered as before. (Slack's other workspaces: `slack.rs`.)
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_actors::access::strangers;
use alfred_skills_biz::crm;
use alfred_testkit::whatsapp;

use crate::helpers::*;

const DANA: &str = "4917011111111";
const SAM: &str = "4917022222222";
const STRANGER: &str = "4915550000000";
const GROUP: &str = "120363025555555555@g.us";

/// The texts Alfred sent to `to`, in order.
fn texts_to(app: &TestApp, to: &str) -> Vec<String> {
    app.backends
        .graph
        .requests()
        .iter()
        .filter(|request| request.to() == Some(to))
        .filter_map(|request| request.text().map(str::to_owned))
        .collect()
}

/// Waits until a reply to `wamid` was sent and returns its text.
async fn reply_to(app: &TestApp, wamid: &str) -> String {
    eventually(&format!("the reply to {wamid}"), || async {
        app.backends
            .graph
            .requests()
            .iter()
            .find(|request| request.reply_to() == Some(wamid))
            .and_then(|request| request.text().map(str::to_owned))
    })
    .await
}

/// A Biz Alfred on its own WhatsApp number, whose CRM answers only Dana, with one big deal.
async fn biz_on_whatsapp() -> TestApp {
    let app = TestApp::spawn_with(
        &[
            ("INSTANCE", "biz".into()),
            ("CRM_READERS", format!("+{DANA}")),
        ],
        Vec::new(),
    )
    .await;
    let client = app.backends.pg().await;
    client
        .batch_execute(
            "WITH company AS (INSERT INTO companies (name_key, name) VALUES ('globex', 'Globex') \
             RETURNING id) \
             INSERT INTO deals (company_id, name_key, name, stage, open, amount, currency) \
             SELECT id, 'big renewal', 'Big Renewal', 'proposal', true, 5000, 'EUR' FROM company",
        )
        .await
        .unwrap();
    app
}

#[actix_rt::test]
async fn a_stranger_on_a_biz_whatsapp_number_gets_no_crm_data_and_a_crm_reader_does() {
    let app = biz_on_whatsapp().await;

    app.post_signed(&whatsapp::text_message(
        PHONE_ID,
        STRANGER,
        "Eve",
        "wamid.S1",
        "deals over 1000",
    ))
    .await;
    let refused = reply_to(&app, "wamid.S1").await;
    app.post_signed(&whatsapp::text_message(
        PHONE_ID,
        DANA,
        "Dana",
        "wamid.D1",
        "deals over 1000",
    ))
    .await;
    let answered = reply_to(&app, "wamid.D1").await;
    app.post_signed(&whatsapp::text_message(
        PHONE_ID, STRANGER, "Eve", "wamid.S2", "help",
    ))
    .await;
    let help = reply_to(&app, "wamid.S2").await;
    app.quiescent().await;

    for text in texts_to(&app, STRANGER) {
        assert!(
            !text.contains("Globex") && !text.contains("Big Renewal") && !text.contains("5,000"),
            "no CRM data reaches a stranger: {text}"
        );
    }
    assert_eq!(refused, crm::PRIVATE);
    assert!(
        !help.contains("deals"),
        "help offers a stranger no CRM: {help}"
    );
    assert!(
        answered.contains("Big Renewal") && answered.contains("Globex"),
        "a CRM reader gets the deals: {answered}"
    );
    assert_eq!(
        app.metric("alfred_refused_total{reason=\"not_reader\"}")
            .await,
        1
    );
}

/// A households file putting Dana's and Sam's direct chats and the family group together.
fn households_file() -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("alfred-access-{}.toml", uuid::Uuid::new_v4()));
    let text = format!(
        "[[household]]\nid = \"smiths\"\nname = \"The Smiths\"\ntimezone = \"Europe/Berlin\"\n\
         groups = [\"{GROUP}\"]\n\
         members = [{{ name = \"Dana\", whatsapp = \"{DANA}\" }}, {{ name = \"Sam\", whatsapp = \"{SAM}\" }}]\n"
    );
    std::fs::write(&path, text).unwrap();
    path
}

async fn home_with_households(extra: &[(&str, String)]) -> (TestApp, std::path::PathBuf) {
    let file = households_file();
    let mut vars = vec![("HOUSEHOLDS_FILE", file.display().to_string())];
    vars.extend(extra.iter().cloned());
    (TestApp::spawn_with(&vars, Vec::new()).await, file)
}

#[actix_rt::test]
async fn a_strangers_two_messages_the_same_day_get_one_refusal_that_reveals_nothing() {
    let (app, file) = home_with_households(&[]).await;
    app.post_signed(&whatsapp::text_message(
        PHONE_ID, DANA, "Dana", "wamid.M1", "add milk",
    ))
    .await;
    reply_to(&app, "wamid.M1").await;

    app.post_signed(&whatsapp::text_message(
        PHONE_ID, STRANGER, "Eve", "wamid.X1", "list",
    ))
    .await;
    app.post_signed(&whatsapp::text_message(
        PHONE_ID,
        STRANGER,
        "Eve",
        "wamid.X2",
        "what chores are due today",
    ))
    .await;
    // A retry of the first by the platform is a duplicate: no second refusal either.
    app.post_signed(&whatsapp::text_message(
        PHONE_ID, STRANGER, "Eve", "wamid.X1", "list",
    ))
    .await;
    app.post_signed(&whatsapp::text_message(
        PHONE_ID, SAM, "Sam", "wamid.M2", "list",
    ))
    .await;
    let members_list = reply_to(&app, "wamid.M2").await;
    eventually("both of the stranger's messages handled", || async {
        (app.backends.inbox_has("wamid.X1").await && app.backends.inbox_has("wamid.X2").await)
            .then_some(())
    })
    .await;
    app.quiescent().await;

    let to_stranger = texts_to(&app, STRANGER);
    assert_eq!(
        to_stranger,
        [strangers::REPLY],
        "one refusal, the first message's"
    );
    for secret in ["Dana", "Sam", "Smiths", "milk"] {
        assert!(
            !to_stranger[0].contains(secret),
            "the refusal names nothing of the family ({secret})"
        );
    }
    assert!(
        members_list.contains("milk"),
        "members are answered as before: {members_list}"
    );
    let client = app.backends.pg().await;
    let counted: i32 = client
        .query_one(
            "SELECT count FROM stranger_refusals WHERE conversation = $1",
            &[&STRANGER],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        counted, 2,
        "the only thing kept about the stranger: a count"
    );
    assert_eq!(
        app.metric("alfred_refused_total{reason=\"stranger\"}")
            .await,
        2
    );
    let _ = std::fs::remove_file(file);
}

#[actix_rt::test]
async fn with_strangers_ignore_a_stranger_gets_no_answer_at_all() {
    let (app, file) = home_with_households(&[("STRANGERS", "ignore".into())]).await;

    app.post_signed(&whatsapp::text_message(
        PHONE_ID, STRANGER, "Eve", "wamid.I1", "list",
    ))
    .await;
    app.post_signed(&whatsapp::text_message(
        PHONE_ID, DANA, "Dana", "wamid.I2", "list",
    ))
    .await;
    reply_to(&app, "wamid.I2").await;
    eventually("the stranger's message handled", || async {
        app.backends.inbox_has("wamid.I1").await.then_some(())
    })
    .await;
    app.quiescent().await;

    assert!(texts_to(&app, STRANGER).is_empty());
    assert_eq!(
        app.metric("alfred_refused_total{reason=\"stranger\"}")
            .await,
        1
    );
    let _ = std::fs::remove_file(file);
}
