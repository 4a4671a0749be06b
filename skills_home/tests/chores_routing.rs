//! Chores among the Home skills: the orchestrator's first-match routing sends chore texts to
//! the chores skill and leaves the rest to the shopping list and help; the skill reads the
//! household's time zone and the message's time from the request.

use alfred_actors::skill::SkillRequest;
use alfred_skills_home::chores;
use alfred_testkit::request::skill_request;
use alfred_testkit::stores::TestStore;
use chrono::{TimeZone, Utc};
use chrono_tz::Tz;

/// The skill the orchestrator would pick: the first whose route understands the text.
fn routed(text: &str) -> Option<&'static str> {
    alfred_skills_home::skills(&Default::default())
        .into_iter()
        .find(|entry| entry.route.understands(text))
        .map(|entry| entry.name())
}

#[test]
fn chore_texts_reach_chores_and_everything_else_is_left_to_the_list_and_help() {
    for text in [
        "add chore take out the bins every Monday and Thursday for Sam",
        "new chore dishes daily rotating Dana, Sam, Kim",
        "add chore water plants every 3 days",
        "add chore pay rent monthly on the 1st",
        "remove chore dishes",
        "done dishes",
        "Sam did the bins",
        "skip dishes today",
        "swap dishes with Kim",
        "what's due today",
        "chores",
        "chore stats",
    ] {
        assert_eq!(routed(text), Some(chores::NAME), "{text}");
    }
    for text in [
        "add milk",
        "remove milk",
        "add milk, eggs and 2 kg apples",
        "list",
        "clear the list",
    ] {
        assert_eq!(routed(text), Some("grocery"), "{text}");
    }
    for text in ["help", "hello", "take the bins out", "what did Sam do?"] {
        assert_eq!(routed(text), None, "{text}");
    }
}

fn request(text: &str, timezone: Tz, now: chrono::DateTime<Utc>) -> SkillRequest {
    job_request(text, None, timezone, now)
}

fn job_request(
    text: &str,
    job: Option<(String, String)>,
    timezone: Tz,
    now: chrono::DateTime<Utc>,
) -> SkillRequest {
    skill_request(text)
        .from("447700900001", Some("Dana"))
        .timezone(timezone)
        .job(job)
        .message_id(&format!("wamid.{}", now.timestamp()))
        .at(now)
        .build()
}

#[tokio::test]
async fn the_skill_dates_chores_in_the_households_time_zone() {
    let mut store = TestStore::in_memory();
    let auckland: Tz = "Pacific/Auckland".parse().unwrap();
    // 20:00 UTC on Sunday 1 November is already Monday 09:00 in Auckland.
    let now = Utc.with_ymd_and_hms(2026, 11, 1, 20, 0, 0).unwrap();
    let outcome = chores::skill()
        .handle(request("add chore bins every Monday for me", auckland, now))
        .await
        .unwrap();
    assert_eq!(
        store.apply(outcome.effect).await.unwrap(),
        "✅ New chore: bins — every Monday, Dana. First due today, Dana."
    );
}

#[tokio::test]
async fn a_chore_reminders_run_lists_what_is_due_in_one_message_or_says_nothing() {
    let mut store = TestStore::in_memory();
    let berlin: Tz = "Europe/Berlin".parse().unwrap();
    let route = chores::route();
    assert_eq!(route.jobs(), vec![chores::REMINDER_JOB]);
    let run = |now| {
        job_request(
            "",
            Some((chores::REMINDER_JOB.to_owned(), "2026-11-02".to_owned())),
            berlin,
            now,
        )
    };
    // Monday 2 November, 18:00 in Berlin (17:00 UTC).
    let evening = Utc.with_ymd_and_hms(2026, 11, 2, 17, 0, 0).unwrap();
    let nothing = chores::skill().handle(run(evening)).await.unwrap();
    assert_eq!(store.apply(nothing.effect).await.unwrap(), "");

    for text in [
        "new chore dishes daily rotating Dana, Sam",
        "add chore bins every Thursday for Sam",
    ] {
        let added = chores::skill()
            .handle(request(text, berlin, evening))
            .await
            .unwrap();
        store.apply(added.effect).await.unwrap();
    }
    let reminded = chores::skill().handle(run(evening)).await.unwrap();
    assert_eq!(
        store.apply(reminded.effect).await.unwrap(),
        "⏰ Chores to do:\n• dishes — Dana"
    );
}

fn call(name: &str, arguments: serde_json::Value) -> alfred_actors::llm::ToolCall {
    alfred_actors::llm::ToolCall {
        name: name.to_owned(),
        arguments,
    }
}

#[test]
fn llm_tool_calls_become_commands_the_grammar_reads_and_bad_ones_nothing() {
    let route = chores::route();
    let names: Vec<String> = route.tools().into_iter().map(|t| t.name).collect();
    assert!(names.contains(&"chores_done".to_owned()), "{names:?}");
    let command = |name, args| route.command_for(&call(name, args));
    use serde_json::json;
    assert_eq!(
        command("chores_done", json!({"chore": "the dishes"})).as_deref(),
        Some("done the dishes")
    );
    assert_eq!(
        command("chores_done", json!({"chore": "bins", "by": "sam"})).as_deref(),
        Some("Sam did bins")
    );
    assert_eq!(
        command("chores_swap", json!({"chore": "dishes", "with": "Kim"})).as_deref(),
        Some("swap dishes with Kim")
    );
    assert_eq!(
        command("chores_due_today", json!({})).as_deref(),
        Some("what's due today")
    );
    for (name, args) in [
        ("chores_done", json!({})),
        ("chores_done", json!({"chore": ""})),
        ("chores_done", json!({"chore": "dishes; remove chore bins"})),
        ("chores_done", json!({"chore": "today"})),
        ("chores_done", json!({"chore": "dishes", "by": "Sam Smith"})),
        ("chores_swap", json!({"chore": "dishes"})),
        ("chores_skip", json!({"chore": 7})),
        ("chores_remove", json!({"chore": "dishes"})),
        ("grocery_add", json!({"items": [{"name": "milk"}]})),
    ] {
        assert_eq!(command(name, args.clone()), None, "{name} {args}");
    }
    // Every proposed text is routed like typed text, to the chores.
    let text = command("chores_skip", json!({"chore": "dishes"})).unwrap();
    assert_eq!(routed(&text), Some(chores::NAME));
}
