//! When reminders fall due: first occurrences, the next occurrence of a recurring reminder
//! across DST changes, and quiet hours.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_skills_home::reminders::{first_due, next_after, send_at, Day, Repeat, When};
use chrono::{DateTime, Duration, NaiveTime, Utc, Weekday};

const BERLIN: chrono_tz::Tz = chrono_tz::Europe::Berlin;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn at(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

#[test]
fn a_delay_counts_from_now_in_whole_seconds() {
    let now = utc("2026-11-26T08:00:00.750Z");
    let (due, repeat) = first_due(When::In(Duration::minutes(2)), now, BERLIN).unwrap();
    assert_eq!(due, utc("2026-11-26T08:02:00Z"));
    assert_eq!(repeat, None);
}

#[test]
fn a_time_of_day_is_today_if_still_ahead_else_tomorrow() {
    let now = utc("2026-11-26T08:00:00Z"); // 09:00 in Berlin
    let when = |day, time| When::At { day, time };
    let due = |w| first_due(w, now, BERLIN).map(|(due, _)| due);
    assert_eq!(
        due(when(Day::Next, at(17, 0))),
        Some(utc("2026-11-26T16:00:00Z"))
    );
    assert_eq!(
        due(when(Day::Next, at(8, 0))),
        Some(utc("2026-11-27T07:00:00Z"))
    );
    assert_eq!(
        due(when(Day::Tomorrow, at(8, 0))),
        Some(utc("2026-11-27T07:00:00Z"))
    );
    assert_eq!(due(when(Day::Today, at(8, 0))), None, "already passed");
    // Thursday 26 November: "on Thursday at 8" is next week's.
    assert_eq!(
        due(when(Day::Weekday(Weekday::Thu), at(8, 0))),
        Some(utc("2026-12-03T07:00:00Z"))
    );
}

#[test]
fn every_thursday_at_7_stays_at_7_local_across_the_autumn_change() {
    // Thursday 2026-10-22 07:00 CEST; the clocks go back on Sunday 25 October.
    let first = utc("2026-10-22T05:00:00Z");
    let next = next_after(Repeat::Weekly(Weekday::Thu), at(7, 0), BERLIN, first).unwrap();
    assert_eq!(next, utc("2026-10-29T06:00:00Z"), "07:00 CET");
}

#[test]
fn every_day_at_2_30_fires_once_on_both_change_days() {
    let time = at(2, 30);
    // Spring: 02:30 does not exist on 29 March; it fires at 03:00 CEST.
    let spring = next_after(Repeat::Daily, time, BERLIN, utc("2026-03-28T01:30:00Z")).unwrap();
    assert_eq!(spring, utc("2026-03-29T01:00:00Z"));
    let after_spring = next_after(Repeat::Daily, time, BERLIN, spring).unwrap();
    assert_eq!(after_spring, utc("2026-03-30T00:30:00Z"));
    // Autumn: 02:30 happens twice on 25 October; only the earlier one.
    let autumn = next_after(Repeat::Daily, time, BERLIN, utc("2026-10-24T00:30:00Z")).unwrap();
    assert_eq!(autumn, utc("2026-10-25T00:30:00Z"));
    let after_autumn = next_after(Repeat::Daily, time, BERLIN, autumn).unwrap();
    assert_eq!(after_autumn, utc("2026-10-26T01:30:00Z"));
}

#[test]
fn a_recurring_reminder_caught_up_after_downtime_moves_past_now() {
    let now = utc("2026-12-20T12:00:00Z");
    let next = next_after(Repeat::Weekly(Weekday::Thu), at(7, 0), BERLIN, now).unwrap();
    assert_eq!(next, utc("2026-12-24T06:00:00Z"));
}

#[test]
fn quiet_hours_move_a_reminder_to_their_end() {
    let quiet = Some((at(21, 30), at(7, 30)));
    // 22:00 local → 07:30 the next morning.
    assert_eq!(
        send_at(utc("2026-11-26T21:00:00Z"), BERLIN, quiet),
        utc("2026-11-27T06:30:00Z")
    );
    // 06:00 local → 07:30 the same morning.
    assert_eq!(
        send_at(utc("2026-11-27T05:00:00Z"), BERLIN, quiet),
        utc("2026-11-27T06:30:00Z")
    );
    // Outside them, or without any: as due.
    assert_eq!(
        send_at(utc("2026-11-26T19:00:00Z"), BERLIN, quiet),
        utc("2026-11-26T19:00:00Z")
    );
    assert_eq!(
        send_at(utc("2026-11-26T21:00:00Z"), BERLIN, None),
        utc("2026-11-26T21:00:00Z")
    );
    // Daytime quiet hours (a nap): 13:30 → 15:00.
    assert_eq!(
        send_at(
            utc("2026-11-26T12:30:00Z"),
            BERLIN,
            Some((at(13, 0), at(15, 0)))
        ),
        utc("2026-11-26T14:00:00Z")
    );
}
