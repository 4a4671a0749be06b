//! What the morning briefing says, from the household's real chores and list: chores due
//! today with whose turn, overdue chores as reminders, the items still to buy by aisle, and a
//! source that fails marked unavailable while the rest still goes out. Every scenario runs on
//! Postgres (`pg::<scenario>`) and in memory (`mem::<scenario>`).
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod briefing_support;

use alfred_testkit::stores::TestStore;

use briefing_support::{berlin_at, Household};

/// The shopping list section of the seeded household's briefing.
const SEEDED_LIST: &str = "🛒 *Shopping list*\n\
                           2 items to buy\n\
                           • Produce: 2 kg apples\n\
                           • Dairy & eggs: milk\n";

/// The briefing's text at 07:00 on Wednesday 25 November 2026 in Berlin.
async fn wednesday_briefing(store: &mut TestStore) -> String {
    store.briefing_text(berlin_at(2026, 11, 25, 7, 0)).await
}

async fn the_briefing_lists_todays_chores_the_list_and_overdue_chores_as_reminders(
    store: &mut TestStore,
) {
    store.seed().await;

    assert_eq!(
        wednesday_briefing(store).await,
        format!(
            "Good morning! It's Wednesday, 25 November 2026.\n\
             \n\
             🧹 *Chores today*\n\
             • dishes — Sam\n\
             • water plants — anyone\n\
             \n\
             {SEEDED_LIST}\
             \n\
             ⏰ *Reminders*\n\
             • laundry — Dana, 2 days overdue"
        )
    );
}

async fn a_quiet_day_says_so_in_every_section(store: &mut TestStore) {
    let text = wednesday_briefing(store).await;

    assert_eq!(
        text,
        "Good morning! It's Wednesday, 25 November 2026.\n\
         \n\
         🧹 *Chores today*\nNothing due today.\n\
         \n\
         🛒 *Shopping list*\nNothing to buy.\n\
         \n\
         ⏰ *Reminders*\nNone."
    );
}

async fn the_date_is_the_households_local_date(store: &mut TestStore) {
    // 23:30 UTC on Tuesday is already Wednesday in Berlin.
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-24T23:30:00Z")
        .unwrap()
        .to_utc();

    let text = store.briefing_text(now).await;

    assert!(
        text.starts_with("Good morning! It's Wednesday, 25 November 2026."),
        "{text}"
    );
}

async fn failing_chores_are_marked_unavailable_and_the_list_still_goes_out(store: &mut TestStore) {
    store.seed().await;
    store.break_chores().await;

    assert_eq!(
        wednesday_briefing(store).await,
        format!(
            "Good morning! It's Wednesday, 25 November 2026.\n\
             \n\
             🧹 *Chores today*\n⚠️ unavailable right now\n\
             \n\
             {SEEDED_LIST}\
             \n\
             ⏰ *Reminders*\n⚠️ unavailable right now"
        )
    );
}

async fn a_failing_list_is_marked_unavailable_and_the_chores_still_go_out(store: &mut TestStore) {
    store.seed().await;
    store.break_list().await;

    let text = wednesday_briefing(store).await;

    assert!(
        text.contains("🛒 *Shopping list*\n⚠️ unavailable right now"),
        "{text}"
    );
    assert!(
        text.contains("🧹 *Chores today*\n• dishes — Sam\n• water plants — anyone"),
        "{text}"
    );
    assert!(
        text.ends_with("⏰ *Reminders*\n• laundry — Dana, 2 days overdue"),
        "{text}"
    );
}

async fn an_item_named_like_a_placeholder_is_shown_as_typed(store: &mut TestStore) {
    let now = berlin_at(2026, 11, 25, 6, 0);
    store.list("Sam", "add {reminders}", now).await;

    let text = wednesday_briefing(store).await;

    assert!(
        text.contains("1 item to buy\n• Other: {reminders}"),
        "{text}"
    );
    assert!(text.ends_with("⏰ *Reminders*\nNone."), "{text}");
}

alfred_testkit::for_both_stores! {
    in_memory: TestStore::in_memory(),
    on_postgres: TestStore::on_postgres().await,
    scenarios: [
        the_briefing_lists_todays_chores_the_list_and_overdue_chores_as_reminders,
        a_quiet_day_says_so_in_every_section,
        the_date_is_the_households_local_date,
        failing_chores_are_marked_unavailable_and_the_list_still_goes_out,
        a_failing_list_is_marked_unavailable_and_the_chores_still_go_out,
        an_item_named_like_a_placeholder_is_shown_as_typed,
    ],
}
