//! Recurrence rules produce the right local dates, also across DST changes and month ends.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_skills_home::chores::recurrence::{weekday_bit, Recurrence};
use alfred_skills_home::chores::{local_today, Chore, NewChore};
use chrono::{NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn mon_thu() -> Recurrence {
    Recurrence::Weekly(weekday_bit(Weekday::Mon) | weekday_bit(Weekday::Thu))
}

#[test]
fn daily_falls_on_every_local_date() {
    let start = d(2026, 3, 27);
    assert_eq!(
        Recurrence::Daily.occurrences(start, start, d(2026, 3, 31)),
        vec![
            d(2026, 3, 27),
            d(2026, 3, 28),
            d(2026, 3, 29),
            d(2026, 3, 30),
            d(2026, 3, 31)
        ]
    );
}

#[test]
fn weekly_on_given_days_falls_only_on_those_weekdays() {
    // 2026-11-02 is a Monday.
    let start = d(2026, 11, 1);
    assert_eq!(
        mon_thu().occurrences(start, start, d(2026, 11, 16)),
        vec![
            d(2026, 11, 2),
            d(2026, 11, 5),
            d(2026, 11, 9),
            d(2026, 11, 12),
            d(2026, 11, 16)
        ]
    );
    assert_eq!(mon_thu().describe(), "every Monday and Thursday");
}

#[test]
fn plain_weekly_and_monthly_take_the_start_date_as_their_day() {
    let thursday = d(2026, 11, 5);
    assert_eq!(
        Recurrence::Weekly(0).resolve(thursday),
        Recurrence::Weekly(weekday_bit(Weekday::Thu))
    );
    assert_eq!(
        Recurrence::Monthly(0).resolve(thursday),
        Recurrence::Monthly(5)
    );
}

#[test]
fn every_n_days_counts_from_the_start_date_not_from_the_query() {
    let start = d(2026, 11, 1);
    let every3 = Recurrence::EveryNDays(3);
    assert_eq!(
        every3.occurrences(start, d(2026, 11, 2), d(2026, 11, 12)),
        vec![d(2026, 11, 4), d(2026, 11, 7), d(2026, 11, 10)]
    );
    assert_eq!(
        every3.next_after(start, d(2026, 11, 4)),
        Some(d(2026, 11, 7))
    );
    assert_eq!(every3.first_on_or_after(start, d(2026, 10, 1)), Some(start));
}

#[test]
fn monthly_on_the_31st_falls_on_the_last_day_of_shorter_months() {
    let start = d(2026, 1, 31);
    assert_eq!(
        Recurrence::Monthly(31).occurrences(start, start, d(2026, 5, 31)),
        vec![
            d(2026, 1, 31),
            d(2026, 2, 28),
            d(2026, 3, 31),
            d(2026, 4, 30),
            d(2026, 5, 31)
        ]
    );
    // A leap year keeps February's 29th.
    assert_eq!(
        Recurrence::Monthly(30).first_on_or_after(d(2028, 2, 1), d(2028, 2, 1)),
        Some(d(2028, 2, 29))
    );
}

#[test]
fn monthly_on_the_1st_created_mid_month_starts_next_month() {
    let chore = NewChore {
        name: "pay rent".to_owned(),
        recurrence: Recurrence::Monthly(1),
        start: d(2026, 11, 10),
        members: vec![],
    }
    .into_chore(1)
    .unwrap();
    assert_eq!(chore.due, d(2026, 12, 1));
    assert_eq!(chore.recurrence.describe(), "monthly on the 1st");
}

#[test]
fn the_local_date_follows_the_household_time_zone_across_the_spring_dst_change() {
    let berlin: Tz = "Europe/Berlin".parse().unwrap();
    // Berlin moves from UTC+1 to UTC+2 at 01:00 UTC on 2026-03-29.
    assert_eq!(
        local_today(
            Utc.with_ymd_and_hms(2026, 3, 28, 22, 59, 0).unwrap(),
            berlin
        ),
        d(2026, 3, 28)
    );
    assert_eq!(
        local_today(Utc.with_ymd_and_hms(2026, 3, 28, 23, 0, 0).unwrap(), berlin),
        d(2026, 3, 29)
    );
    // After the change, local midnight is 22:00 UTC.
    assert_eq!(
        local_today(
            Utc.with_ymd_and_hms(2026, 3, 29, 21, 59, 0).unwrap(),
            berlin
        ),
        d(2026, 3, 29)
    );
    assert_eq!(
        local_today(Utc.with_ymd_and_hms(2026, 3, 29, 22, 0, 0).unwrap(), berlin),
        d(2026, 3, 30)
    );
}

#[test]
fn occurrences_across_a_dst_change_are_neither_lost_nor_doubled() {
    let berlin: Tz = "Europe/Berlin".parse().unwrap();
    let mut chore: Chore = NewChore {
        name: "dishes".to_owned(),
        recurrence: Recurrence::Daily,
        start: d(2026, 10, 23),
        members: vec!["Dana".to_owned(), "Sam".to_owned()],
    }
    .into_chore(1)
    .unwrap();
    // Done every night at 00:30 local time through the autumn change (2026-10-25): in summer
    // that is 22:30 UTC of the day before, so a UTC date would be a day behind.
    let mut dues = Vec::new();
    for day in 23..=27 {
        let now = berlin
            .with_ymd_and_hms(2026, 10, day, 0, 30, 0)
            .unwrap()
            .with_timezone(&Utc);
        let today = local_today(now, berlin);
        assert_eq!(today, chore.due, "done on the local date it is due");
        dues.push(chore.due);
        let by = chore.assignee().unwrap().to_owned();
        let entry = chore.complete(&by, today, now, "test").unwrap();
        assert!(entry.on_time, "{today} was on time");
    }
    assert_eq!(
        dues,
        vec![
            d(2026, 10, 23),
            d(2026, 10, 24),
            d(2026, 10, 25),
            d(2026, 10, 26),
            d(2026, 10, 27)
        ]
    );
    assert_eq!(chore.due, d(2026, 10, 28));
}

#[test]
fn every_n_days_keeps_its_rhythm_across_the_dst_change() {
    let start = d(2026, 3, 20);
    assert_eq!(
        Recurrence::EveryNDays(3).occurrences(start, d(2026, 3, 27), d(2026, 4, 3)),
        vec![d(2026, 3, 29), d(2026, 4, 1)]
    );
}

#[test]
fn the_stored_form_reads_back_as_the_same_rule() {
    for rule in [
        Recurrence::Daily,
        mon_thu(),
        Recurrence::EveryNDays(3),
        Recurrence::Monthly(31),
    ] {
        assert_eq!(Recurrence::from_key(&rule.key()), Some(rule));
    }
    for bad in ["weekly:0", "every:0", "monthly:32", "hourly", "every:x"] {
        assert_eq!(Recurrence::from_key(bad), None, "{bad}");
    }
}
