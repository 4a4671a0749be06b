//! Reminders on both stores: a run of an occurrence sends it once and marks it sent, a second
//! run of the same occurrence (another replica's) or a run of a cancelled reminder sends
//! nothing, and a weekly reminder moves on to the same local time next week across a DST change.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_actors::messages::{InboundEnvelope, InboundKind, OutboundBody, Platform, Sender};
use alfred_actors::skill::{Effect, Reply, SkillRequest};
use alfred_skills_home::reminders::{self, ReminderConfig};
use alfred_testkit::stores::TestStore;
use chrono::{DateTime, Utc};

const BERLIN: chrono_tz::Tz = chrono_tz::Europe::Berlin;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn envelope() -> InboundEnvelope {
    InboundEnvelope {
        platform: Platform::WhatsApp,
        message_id: "wamid.x".to_owned(),
        account: "phone".to_owned(),
        conversation: "4917011111111".to_owned(),
        is_group: false,
        private: true,
        thread: None,
        sender: Sender {
            id: "4917011111111".to_owned(),
            name: Some("Dana".to_owned()),
        },
        timestamp: 0,
        kind: InboundKind::Text {
            body: String::new(),
        },
        traceparent: None,
    }
}

async fn effect(text: &str, job: Option<&str>, now: DateTime<Utc>) -> Box<dyn Effect> {
    let request = SkillRequest {
        household: "smiths".to_owned(),
        timezone: BERLIN,
        sender: envelope().sender,
        text: text.to_owned(),
        job: job.map(|key| (reminders::due::JOB.to_owned(), key.to_owned())),
        now,
        envelope: envelope(),
    };
    let mut skill = reminders::skill(ReminderConfig::default());
    skill.handle(request).await.unwrap().effect
}

async fn say(store: &mut TestStore, text: &str, now: &str) -> String {
    store
        .apply(effect(text, None, utc(now)).await)
        .await
        .unwrap()
}

/// The texts a run of `run_key` at `now` sends.
async fn run(store: &mut TestStore, run_key: &str, now: &str) -> Vec<String> {
    let replies: Vec<Reply> = store
        .replies(effect("", Some(run_key), utc(now)).await)
        .await
        .unwrap();
    replies
        .into_iter()
        .map(|reply| match reply.body {
            OutboundBody::Text { text } => text,
            other => format!("{other:?}"),
        })
        .collect()
}

async fn a_run_sends_once_and_a_cancelled_reminder_not_at_all(store: &mut TestStore) {
    let now = "2026-11-26T08:00:00Z";
    say(store, "remind me in 2 minutes to water the plants", now).await;
    say(store, "remind me in 3 minutes to feed the cat", now).await;
    say(store, "cancel reminder 2", now).await;

    let first = run(store, "1:2026-11-26T08:02:00Z", "2026-11-26T08:02:01Z").await;
    let again = run(store, "1:2026-11-26T08:02:00Z", "2026-11-26T08:02:02Z").await;
    let cancelled = run(store, "2:2026-11-26T08:03:00Z", "2026-11-26T08:03:01Z").await;
    let listed = say(store, "reminders", "2026-11-26T08:04:00Z").await;

    // Dana never wrote in this store: outside the window, and no template: free text anyway.
    assert_eq!(first, vec!["⏰ Reminder: water the plants"]);
    assert!(again.is_empty(), "{again:?}");
    assert!(cancelled.is_empty(), "{cancelled:?}");
    assert!(listed.starts_with("No reminders"), "{listed}");
}

async fn a_weekly_reminder_moves_to_the_same_local_time_next_week_across_dst(
    store: &mut TestStore,
) {
    // Thursday 22 October 2026, 06:00 in Berlin (summer time); the clocks go back on Sunday.
    let set = say(
        store,
        "remind me every Thursday at 7 to put the bins out",
        "2026-10-22T04:00:00Z",
    )
    .await;
    let sent = run(store, "1:2026-10-22T05:00:00Z", "2026-10-22T05:00:05Z").await;
    let listed = say(store, "reminders", "2026-10-22T05:01:00Z").await;
    let next = run(store, "1:2026-10-29T06:00:00Z", "2026-10-29T06:00:05Z").await;

    assert_eq!(
        set,
        "⏰ OK, I'll remind you to put the bins out every Thursday at 07:00, first today at 07:00 (reminder 1)."
    );
    assert_eq!(sent, vec!["⏰ Reminder: put the bins out"]);
    assert_eq!(
        listed,
        "Reminders:\n1. put the bins out — every Thursday at 07:00, next on Thu 29 Oct at 07:00"
    );
    assert_eq!(next, vec!["⏰ Reminder: put the bins out"], "07:00 CET");
}

alfred_testkit::for_both_stores! {
    in_memory: TestStore::in_memory(),
    on_postgres: TestStore::on_postgres().await,
    scenarios: [
        a_run_sends_once_and_a_cancelled_reminder_not_at_all,
        a_weekly_reminder_moves_to_the_same_local_time_next_week_across_dst,
    ],
}
