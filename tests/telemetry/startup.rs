//! Logs for people (issue 11, item 6): with no `LOG_FORMAT` the binary, its stdout a pipe,
//! logs JSON; in ephemeral mode its start-up lines say where the playground is and that
//! `alfred chat` exists; a scheduler with no job of its own is one calm INFO line.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::process::{Alfred, CREDENTIALS};

/// An ephemeral Alfred-Home on port 0, with no `LOG_FORMAT`: the terminal decides, and a pipe
/// is not one.
fn ephemeral_env() -> Vec<(String, String)> {
    [
        ("INSTANCE", "home"),
        ("HTTP_ADDR", "127.0.0.1:0"),
        ("ADMIN_ADDR", "127.0.0.1:0"),
        ("ADMIN_API_KEY", CREDENTIALS.admin_key),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect()
}

#[tokio::test]
async fn in_ephemeral_mode_the_json_start_up_log_says_where_the_playground_and_alfred_chat_are() {
    // Alfred::start finds the listeners' ports in JSON lines: without LOG_FORMAT, on a pipe,
    // the logs are JSON.
    let alfred = Alfred::start(ephemeral_env()).await;
    let lines: Vec<serde_json::Value> = alfred
        .stdout()
        .iter()
        .map(|line| serde_json::from_str(line).expect("every line is JSON"))
        .collect();

    let playground = lines
        .iter()
        .find(|line| {
            line["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Playground:"))
        })
        .unwrap_or_else(|| panic!("no playground line in {lines:#?}"));
    let url = playground["fields"]["url"].as_str().unwrap();
    let message = playground["fields"]["message"].as_str().unwrap();
    assert_eq!(url, format!("{}/", alfred.base));
    assert!(
        message.contains(url) && message.contains("alfred chat"),
        "{message}"
    );
    assert_eq!(playground["level"], "INFO");
    let page = alfred.http.get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("id=\"transcript\""));

    // No households: the scheduler runs for reminders alone, and one calm line says so and
    // what to configure for briefings and chores.
    let scheduler: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|line| line.to_string().to_lowercase().contains("schedul"))
        .collect();
    assert_eq!(scheduler.len(), 1, "{scheduler:#?}");
    assert_eq!(scheduler[0]["level"], "INFO");
    let said = scheduler[0].to_string();
    assert!(
        said.contains("reminders only") && said.contains("HOUSEHOLDS_FILE"),
        "{scheduler:#?}"
    );
}
