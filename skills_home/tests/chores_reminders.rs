//! What the scheduler and the morning briefing get from the chores: reminders that respect
//! quiet hours in the household's local time (also across DST), and the chores due today. Every
//! scenario runs on Postgres (`pg::<scenario>`) and in memory (`mem::<scenario>`).
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod chores_support;

use chrono::NaiveDate;
use chrono_tz::Tz;

use alfred_testkit::stores::TestStore;

use chores_support::Home;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

async fn reminders_go_to_the_assignee_and_never_inside_quiet_hours(store: &mut TestStore) {
    let berlin: Tz = "Europe/Berlin".parse().unwrap();
    let quiet = Some((
        chrono::NaiveTime::from_hms_opt(21, 30, 0).unwrap(),
        chrono::NaiveTime::from_hms_opt(7, 30, 0).unwrap(),
    ));
    // Saturday 28 March 2026; Berlin's clocks go forward that night.
    let mut home = Home::new(store, berlin, (2026, 3, 28, 18, 0));
    home.say("Dana", "new chore dishes daily rotating Dana, Sam")
        .await;
    home.say("Dana", "add chore water plants every 3 days")
        .await;

    let reminders = home.reminders(quiet).await;
    let texts: Vec<(Option<String>, String)> =
        reminders.into_iter().map(|r| (r.to, r.text)).collect();
    assert_eq!(
        texts,
        vec![
            (
                Some("Dana".to_owned()),
                "⏰ Dana, reminder: dishes — due today.".to_owned()
            ),
            (None, "⏰ Reminder: water plants — due today.".to_owned()),
        ]
    );
    home.set_local((2026, 3, 28, 21, 30));
    assert!(home.reminders(quiet).await.is_empty());
    home.set_local((2026, 3, 28, 23, 59));
    assert!(home.reminders(quiet).await.is_empty());
    // Sunday, after the change to summer time: 07:29 local is still quiet, 07:30 is not.
    home.set_local((2026, 3, 29, 7, 29));
    assert!(home.reminders(quiet).await.is_empty());
    home.set_local((2026, 3, 29, 7, 30));
    let texts: Vec<String> = home
        .reminders(quiet)
        .await
        .into_iter()
        .map(|r| r.text)
        .collect();
    assert_eq!(
        texts,
        vec![
            "⏰ Dana, reminder: dishes — overdue since yesterday.".to_owned(),
            "⏰ Reminder: water plants — overdue since yesterday.".to_owned(),
        ]
    );
    // Without quiet hours a reminder goes out at any hour.
    home.set_local((2026, 3, 29, 3, 30));
    assert_eq!(home.reminders(None).await.len(), 2);
}

async fn the_briefing_gets_what_is_due_today_in_local_dates(store: &mut TestStore) {
    let berlin: Tz = "Europe/Berlin".parse().unwrap();
    let mut home = Home::new(store, berlin, (2026, 11, 2, 7, 0));
    home.say("Sam", "add chore bins every Monday and Thursday for Sam")
        .await;
    home.say("Dana", "add chore dishes daily").await;
    home.set_local((2026, 11, 5, 0, 30));
    home.say("Dana", "done dishes").await;
    // 00:30 in Berlin is still Wednesday in UTC: the local date decides.
    let due = home.due_today().await;
    let seen: Vec<(String, Option<String>, NaiveDate, u32)> = due
        .into_iter()
        .map(|d| (d.chore, d.assignee, d.due, d.days_overdue))
        .collect();
    assert_eq!(
        seen,
        vec![("bins".to_owned(), Some("Sam".to_owned()), d(2026, 11, 2), 3),]
    );
}

alfred_testkit::for_both_stores! {
    in_memory: TestStore::in_memory(),
    on_postgres: TestStore::on_postgres().await,
    scenarios: [
        reminders_go_to_the_assignee_and_never_inside_quiet_hours,
        the_briefing_gets_what_is_due_today_in_local_dates,
    ],
}
