//! Households and group chats: two parents' direct chats share one list; in a group Alfred
//! answers only what is addressed to it; the manual clock moves only through the admin API.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_testkit::whatsapp::{self, Notification};

use crate::helpers::*;

const DANA: &str = "4917011111111";
const SAM: &str = "4917022222222";
const GROUP: &str = "120363025555555555@g.us";

/// A households file putting Dana's and Sam's direct chats and the family group together.
fn households_file() -> (tempfile_path::Path, String) {
    let path = tempfile_path::Path::new("households.toml");
    let text = format!(
        "[[household]]\nid = \"smiths\"\ntimezone = \"Europe/Berlin\"\ngroups = [\"{GROUP}\"]\n\
         members = [{{ name = \"Dana\", whatsapp = \"{DANA}\" }}, {{ name = \"Sam\", whatsapp = \"{SAM}\" }}]\n"
    );
    std::fs::write(path.as_ref(), text).unwrap();
    let value = path.as_ref().display().to_string();
    (path, value)
}

#[actix_rt::test]
async fn two_members_direct_chats_mapped_to_one_household_share_one_list() {
    let (_file, path) = households_file();
    let app = TestApp::spawn_with(&[("HOUSEHOLDS_FILE", path)], Vec::new()).await;

    app.post_signed(&whatsapp::text_message(
        PHONE_ID, DANA, "Dana", "wamid.H1", "add milk",
    ))
    .await;
    app.backends.graph.wait_for_requests(1, DEADLINE).await;
    app.post_signed(&whatsapp::text_message(
        PHONE_ID, SAM, "Sam", "wamid.H2", "list",
    ))
    .await;

    let sends = app.backends.graph.wait_for_requests(2, DEADLINE).await;
    let listing = sends
        .iter()
        .find(|s| s.reply_to() == Some("wamid.H2"))
        .unwrap();
    assert_eq!(
        listing.to(),
        Some(SAM),
        "Sam gets the answer in his own chat"
    );
    let text = listing.text().unwrap();
    assert!(
        text.contains("milk") && text.contains("Dana"),
        "Sam sees Dana's milk: {text}"
    );
}

#[actix_rt::test]
async fn in_a_group_only_messages_with_the_invoke_prefix_are_answered() {
    let (_file, path) = households_file();
    let app = TestApp::spawn_with(&[("HOUSEHOLDS_FILE", path)], Vec::new()).await;
    let body = Notification::new(PHONE_ID)
        .group_text(GROUP, DANA, "Dana", "wamid.G1", "add milk")
        .group_text(GROUP, SAM, "Sam", "wamid.G2", "Alfred, add eggs")
        .group_text(GROUP, DANA, "Dana", "wamid.G3", "alfredo called")
        .build();

    app.post_signed(&body).await;

    app.backends.graph.wait_for_requests(1, DEADLINE).await;
    app.quiescent().await;
    let sends = app.backends.graph.requests();
    assert_eq!(
        sends.len(),
        1,
        "only the addressed message is answered: {sends:?}"
    );
    assert_eq!(sends[0].reply_to(), Some("wamid.G2"));
    assert_eq!(sends[0].to(), Some(GROUP), "the answer goes to the group");
    assert_eq!(sends[0].body["recipient_type"], "group");
    assert_eq!(app.backends.grocery_items().await, vec!["eggs"]);
}

/// An Alfred whose clock stands at 2026-03-29T00:30:00Z until the admin API moves it:
/// `CLOCK=manual` as an operator sets it, so in ephemeral mode (refused with durable stores).
async fn on_a_manual_clock() -> EphemeralApp {
    EphemeralApp::spawn(&[
        ("CLOCK", "manual".to_owned()),
        ("CLOCK_START", "2026-03-29T00:30:00Z".to_owned()),
    ])
    .await
}

#[actix_rt::test]
async fn the_manual_clock_moves_only_through_the_admin_api() {
    let app = on_a_manual_clock().await;
    let clock = format!("{}/admin/clock", app.admin);

    let moved: serde_json::Value = app
        .http
        .post(&clock)
        .bearer_auth(ADMIN_KEY)
        .json(&serde_json::json!({ "advance_secs": 3600 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let unauthorized = app
        .http
        .post(&clock)
        .json(&serde_json::json!({ "advance_secs": 1 }))
        .send()
        .await
        .unwrap();

    assert_eq!(moved["now"], "2026-03-29T01:30:00Z");
    assert_eq!(unauthorized.status(), 401);
}

#[actix_rt::test]
async fn advancing_the_manual_clock_past_representable_dates_is_a_400_and_moves_nothing() {
    let app = on_a_manual_clock().await;
    let clock = format!("{}/admin/clock", app.admin);

    let mut statuses = Vec::new();
    for secs in [i64::MAX, 9_000_000_000_000] {
        let response = app
            .http
            .post(&clock)
            .bearer_auth(ADMIN_KEY)
            .json(&serde_json::json!({ "advance_secs": secs }))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    let now: serde_json::Value = app
        .http
        .get(&clock)
        .bearer_auth(ADMIN_KEY)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(statuses, [400, 400]);
    assert_eq!(now["now"], "2026-03-29T00:30:00Z");
}

#[actix_rt::test]
async fn the_system_clock_cannot_be_moved() {
    let app = TestApp::spawn().await;

    let response = app
        .http
        .post(format!("{}/admin/clock", app.admin))
        .bearer_auth(ADMIN_KEY)
        .json(&serde_json::json!({ "advance_secs": 3600 }))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 409);
}

/// A file path in a fresh temporary directory, removed on drop.
mod tempfile_path {
    pub struct Path(std::path::PathBuf);

    impl Path {
        pub fn new(name: &str) -> Path {
            let dir = std::env::temp_dir().join(format!("alfred-e2e-{}", uuid::Uuid::new_v4()));
            std::fs::create_dir_all(&dir).unwrap();
            Path(dir.join(name))
        }
    }

    impl AsRef<std::path::Path> for Path {
        fn as_ref(&self) -> &std::path::Path {
            &self.0
        }
    }

    impl Drop for Path {
        fn drop(&mut self) {
            if let Some(dir) = self.0.parent() {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
    }
}
