//! ChoreService effects over simulated weeks, on both stores: a real Postgres database (one
//! per test, with every migration) and the in-memory store of ephemeral mode. Every
//! scenario runs on both, as `pg::<scenario>` and `mem::<scenario>`. Time moves by setting the
//! `now` the effects get; nothing sleeps.
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

/// A UTC household on Monday 2 November 2026, 08:00.
fn monday(store: &mut TestStore) -> Home<'_> {
    Home::new(store, Tz::UTC, (2026, 11, 2, 8, 0))
}

/// The assignee named by "what's due today" for `chore` ("• dishes — Sam").
async fn due_to(home: &mut Home<'_>, chore: &str) -> Option<String> {
    let reply = home.say("Dana", "what's due today").await;
    let prefix = format!("• {chore} — ");
    reply.lines().find_map(|line| {
        line.strip_prefix(&prefix)
            .map(|rest| rest.split(' ').next().unwrap_or(rest).to_owned())
    })
}

async fn a_rotation_holds_its_order_across_several_weeks(store: &mut TestStore) {
    let mut home = monday(store);
    assert_eq!(
        home.say("Dana", "new chore dishes daily rotating Dana, Sam, Kim")
            .await,
        "✅ New chore: dishes — daily, rotating Dana, Sam, Kim. First due today, Dana."
    );
    assert_eq!(
        home.say("Sam", "add chore take out the bins every Monday and Thursday rotating Sam and Kim")
            .await,
        "✅ New chore: take out the bins — every Monday and Thursday, rotating Sam, Kim. First due today, Sam."
    );
    let mut dishes = Vec::new();
    let mut bins = Vec::new();
    for _ in 0..21 {
        let who = due_to(&mut home, "dishes")
            .await
            .expect("dishes are due every day");
        home.say(&who, "I did the dishes").await;
        dishes.push(who);
        if let Some(who) = due_to(&mut home, "take out the bins").await {
            let reply = home.say(&who, "done bins").await;
            assert!(
                reply.starts_with(&format!("✅ take out the bins — done by {who}, thanks!")),
                "{reply}"
            );
            bins.push((home.today(), who));
        }
        home.next_day();
    }
    let expected: Vec<&str> = ["Dana", "Sam", "Kim"]
        .iter()
        .copied()
        .cycle()
        .take(21)
        .collect();
    assert_eq!(dishes, expected);
    let mondays_and_thursdays = [
        d(2026, 11, 2),
        d(2026, 11, 5),
        d(2026, 11, 9),
        d(2026, 11, 12),
        d(2026, 11, 16),
        d(2026, 11, 19),
    ];
    let expected: Vec<(NaiveDate, String)> = mondays_and_thursdays
        .iter()
        .zip(["Sam", "Kim"].iter().cycle())
        .map(|(date, who)| (*date, (*who).to_owned()))
        .collect();
    assert_eq!(bins, expected);
}

async fn marking_done_on_someone_elses_behalf_credits_the_doer_and_keeps_the_order(
    store: &mut TestStore,
) {
    let mut home = monday(store);
    home.say("Dana", "new chore dishes daily rotating Dana, Sam, Kim")
        .await;
    assert_eq!(
        home.say("Dana", "Sam did the dishes").await,
        "✅ dishes — done by Sam. Next: tomorrow, Sam."
    );
    home.next_day();
    assert_eq!(
        home.say("Kim", "Sam did the dishes").await,
        "✅ dishes — done by Sam. Next: tomorrow, Kim."
    );
    home.next_day();
    assert_eq!(
        home.say("Kim", "dishes done").await,
        "✅ dishes — done by Kim, thanks! Next: tomorrow, Dana."
    );
    assert_eq!(
        home.say("Kim", "chore stats").await,
        "Chore stats:\n• dishes — streak 3 on time; done 3 (3 on time: Sam 2, Kim 1); \
         streaks Dana 0, Sam 1, Kim 1"
    );
}

async fn skipping_moves_on_to_the_next_occurrence_and_turn(store: &mut TestStore) {
    let mut home = monday(store);
    home.say("Dana", "new chore dishes daily rotating Dana, Sam")
        .await;
    home.say("Dana", "done dishes").await;
    home.next_day();
    assert_eq!(
        home.say("Sam", "skip dishes today").await,
        "⏭ dishes — skipped (today). Next: tomorrow, Dana."
    );
    assert_eq!(
        home.say("Sam", "skip dishes").await,
        "dishes — already skipped today. Next: tomorrow, Dana."
    );
    home.next_day();
    home.say("Dana", "done dishes").await;
    // A skip neither extends nor breaks a streak.
    assert_eq!(
        home.say("Dana", "streaks").await,
        "Chore stats:\n• dishes — streak 2 on time; done 2 (2 on time: Dana 2); skipped 1; \
         streaks Dana 2, Sam 0"
    );
}

async fn a_swap_hands_this_turn_over_and_the_turn_is_paid_back(store: &mut TestStore) {
    let mut home = monday(store);
    home.say("Dana", "new chore dishes daily rotating Dana, Sam, Kim")
        .await;
    assert_eq!(
        home.say("Dana", "swap dishes with Kim").await,
        "🔁 dishes — Kim takes today instead of Dana; Dana takes Kim's next turn."
    );
    assert_eq!(
        home.say("Dana", "swap dishes with kim").await,
        "dishes — already Kim's turn (today)."
    );
    let mut order = Vec::new();
    for _ in 0..7 {
        let who = due_to(&mut home, "dishes").await.unwrap();
        home.say(&who, "done dishes").await;
        order.push(who);
        home.next_day();
    }
    // Kim and Dana exchanged one turn each; Sam's turns did not move.
    assert_eq!(order, ["Kim", "Sam", "Dana", "Dana", "Sam", "Kim", "Dana"]);
}

async fn a_swap_on_a_fixed_chore_hands_over_only_this_occurrence(store: &mut TestStore) {
    let mut home = monday(store);
    home.say("Sam", "add chore bins every Monday for Sam").await;
    assert_eq!(
        home.say("Sam", "swap bins with Kim").await,
        "🔁 bins — Kim takes today instead of Sam."
    );
    assert_eq!(
        home.say("Kim", "done bins").await,
        "✅ bins — done by Kim, thanks! Next: Mon 9 Nov, Sam."
    );
}

async fn due_today_and_overdue_follow_the_calendar(store: &mut TestStore) {
    let mut home = monday(store);
    home.say("Dana", "add chore dishes daily for Dana").await;
    home.say("Dana", "add chore bins every Thursday for Sam")
        .await;
    home.say("Dana", "add chore pay rent monthly on the 1st")
        .await;
    assert_eq!(
        home.say("Sam", "what's due today").await,
        "Due today:\n• dishes — Dana"
    );
    assert_eq!(
        home.say("Sam", "what's overdue").await,
        "Nothing is overdue. 👍"
    );

    home.set_local((2026, 11, 4, 9, 0));
    assert_eq!(
        home.say("Sam", "what's due today").await,
        "Due today:\n• dishes — Dana (overdue since Mon 2 Nov)"
    );
    assert_eq!(
        home.say("Sam", "what's overdue").await,
        "Overdue:\n• dishes — Dana (overdue since Mon 2 Nov)"
    );
    // A late completion stands for every missed occurrence up to today.
    assert_eq!(
        home.say("Dana", "done dishes").await,
        "✅ dishes — done by Dana (2 days late), thanks! Next: tomorrow, Dana."
    );
    assert_eq!(
        home.say("Sam", "what's due today").await,
        "Nothing due today. 🎉 Next up: dishes — tomorrow, Dana."
    );
    home.set_local((2026, 11, 5, 9, 0));
    assert_eq!(
        home.say("Sam", "due today").await,
        "Due today:\n• dishes — Dana\n• bins — Sam"
    );
    assert_eq!(
        home.say("Sam", "chores").await,
        "Chores (3):\n\
         • dishes — daily, Dana; next today, Dana\n\
         • bins — every Thursday, Sam; next today, Sam\n\
         • pay rent — monthly on the 1st, anyone; next Tue 1 Dec, anyone"
    );
}

async fn done_ahead_of_time_counts_once_for_the_coming_occurrence(store: &mut TestStore) {
    let mut home = monday(store);
    home.say("Sam", "add chore bins every Thursday for Sam")
        .await;
    home.set_local((2026, 11, 4, 21, 0));
    assert_eq!(
        home.say("Sam", "I did the bins").await,
        "✅ bins — done by Sam (ahead of tomorrow), thanks! Next: Thu 12 Nov, Sam."
    );
    // The same message again is a repeat, not next week's bins done early.
    assert_eq!(
        home.say("Sam", "done bins").await,
        "bins — already done today by Sam. Next: Thu 12 Nov, Sam."
    );
    assert_eq!(
        home.say("Sam", "chore stats").await,
        "Chore stats:\n• bins — streak 1 on time; done 1 (1 on time: Sam 1)"
    );
}

async fn streaks_count_consecutive_occurrences_done_on_time(store: &mut TestStore) {
    let mut home = monday(store);
    home.say("Dana", "new chore dishes daily rotating Dana, Sam")
        .await;
    // Mon Dana, Tue Sam, Wed Dana on time; Thu (Sam) done a day late, on Friday.
    for _ in 0..3 {
        let who = due_to(&mut home, "dishes").await.unwrap();
        home.say(&who, "done dishes").await;
        home.next_day();
    }
    assert_eq!(
        home.say("Sam", "streaks").await,
        "Chore stats:\n• dishes — streak 3 on time; done 3 (3 on time: Dana 2, Sam 1); \
         streaks Dana 2, Sam 1"
    );
    home.next_day();
    // Thursday's occurrence is overdue on Friday: both the chore's and Sam's streak end.
    assert_eq!(
        home.say("Dana", "streaks").await,
        "Chore stats:\n• dishes — streak 0 on time; done 3 (3 on time: Dana 2, Sam 1); \
         streaks Dana 2, Sam 0"
    );
    home.say("Sam", "done dishes").await;
    home.next_day();
    home.say("Dana", "done dishes").await;
    assert_eq!(
        home.say("Dana", "streaks").await,
        "Chore stats:\n• dishes — streak 1 on time; done 5 (4 on time: Dana 3, Sam 2); \
         streaks Dana 3, Sam 0"
    );
}

async fn unknown_ambiguous_duplicate_and_removed_chores_are_answered_truthfully(
    store: &mut TestStore,
) {
    let mut home = monday(store);
    assert_eq!(
        home.say("Dana", "done dishes").await,
        "There are no chores yet. Add one: add chore dishes daily rotating Dana, Sam"
    );
    home.say("Dana", "add chore water plants every 3 days")
        .await;
    home.say("Dana", "add chore water the garden weekly").await;
    assert_eq!(
        home.say("Dana", "add chore Water Plants daily").await,
        "There's already a chore called water plants (every 3 days, next due today). Remove it \
         first to change it."
    );
    assert_eq!(
        home.say("Dana", "done hoovering").await,
        "I don't know a chore called “hoovering”. Chores: water plants and water the garden."
    );
    assert_eq!(
        home.say("Dana", "done water").await,
        "Which chore: water plants or water the garden?"
    );
    assert_eq!(
        home.say("Dana", "add chore hoover").await,
        "How often? For example: add chore hoover daily · add chore hoover every Monday and \
         Thursday for Sam · add chore hoover every 3 days rotating Dana, Sam · add chore hoover \
         monthly on the 1st"
    );
    home.say("Dana", "done plants").await;
    assert_eq!(
        home.say("Dana", "remove the water plants chore").await,
        "🗑 Removed chore water plants and its history."
    );
    assert_eq!(
        home.say("Dana", "chores").await,
        "Chores (1):\n• water the garden — every Monday, anyone; next today, anyone"
    );
    assert_eq!(
        home.say("Dana", "chore stats").await,
        "Chore stats:\n• water the garden — streak 0 on time; not done yet"
    );
}

async fn for_me_and_my_chores_use_the_senders_name(store: &mut TestStore) {
    let mut home = monday(store);
    home.say("Kim Smith", "add chore laundry every Sunday for me")
        .await;
    home.say("Dana", "add chore dishes daily rotating Dana and Kim")
        .await;
    assert_eq!(
        home.say("Kim Smith", "my chores").await,
        "Your chores (2):\n\
         • laundry — every Sunday, Kim; next Sun 8 Nov, Kim\n\
         • dishes — daily, rotating Dana, Kim; next today, Dana"
    );
    assert_eq!(home.say("Sam", "my chores").await, "You have no chores. 🎉");
}

alfred_testkit::for_both_stores! {
    in_memory: TestStore::in_memory(),
    on_postgres: TestStore::on_postgres().await,
    scenarios: [
        a_rotation_holds_its_order_across_several_weeks,
        marking_done_on_someone_elses_behalf_credits_the_doer_and_keeps_the_order,
        skipping_moves_on_to_the_next_occurrence_and_turn,
        a_swap_hands_this_turn_over_and_the_turn_is_paid_back,
        a_swap_on_a_fixed_chore_hands_over_only_this_occurrence,
        due_today_and_overdue_follow_the_calendar,
        done_ahead_of_time_counts_once_for_the_coming_occurrence,
        streaks_count_consecutive_occurrences_done_on_time,
        unknown_ambiguous_duplicate_and_removed_chores_are_answered_truthfully,
        for_me_and_my_chores_use_the_senders_name,
    ],
}
