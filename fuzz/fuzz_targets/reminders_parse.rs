//! The reminders' grammar (`reminders::parse`) and the schedule it leads to.
//!
//! Properties beyond "does not panic":
//! * what it accepts is bounded: a reminder's text is non-empty, one line and at most
//!   `MAX_TEXT_CHARS` characters; a member's name is non-empty; delays and snoozes are
//!   positive and at most a year; reminder numbers are positive;
//! * every reminder it accepts can be scheduled without panicking in a few time zones (with
//!   and without DST, east and west), the occurrence it is sent at is never before it is due
//!   (quiet hours only move it later), and a recurring one's next occurrence is later still.
#![no_main]

use alfred_skills_home::reminders::{
    first_due, next_after, parse, send_at, ReminderCommand, Target, When, MAX_TEXT_CHARS,
};
use chrono::{Duration, NaiveTime, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;

fn bounded(delay: Duration) {
    assert!(delay > Duration::zero(), "{delay:?}");
    assert!(delay <= Duration::days(366), "{delay:?}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(command) = parse(text) else {
        return;
    };
    match command {
        ReminderCommand::Add { to, text, when } => {
            assert!(!text.trim().is_empty(), "empty text");
            assert!(
                text.chars().count() <= MAX_TEXT_CHARS,
                "{} chars",
                text.chars().count()
            );
            assert!(!text.contains(['\n', '\r']), "{text:?}");
            if let Target::Named(name) = &to {
                assert!(!name.trim().is_empty(), "empty name");
            }
            if let When::In(delay) = when {
                bounded(delay);
            }
            // A spring-forward night, a fall-back night and an ordinary noon.
            let nows = [
                Utc.with_ymd_and_hms(2026, 3, 29, 0, 30, 0).single(),
                Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).single(),
                Utc.with_ymd_and_hms(2026, 11, 26, 12, 0, 0).single(),
            ];
            let quiet = NaiveTime::from_hms_opt(21, 30, 0).zip(NaiveTime::from_hms_opt(7, 30, 0));
            for tz in [
                chrono_tz::Europe::Berlin,
                chrono_tz::America::New_York,
                chrono_tz::Australia::Lord_Howe,
                chrono_tz::UTC,
            ] {
                for now in nows.into_iter().flatten() {
                    let Some((due, rule)) = first_due(when, now, tz) else {
                        continue;
                    };
                    assert!(due >= now, "{when:?} at {now} in {tz}: due {due}");
                    let sent = send_at(due, tz, quiet);
                    assert!(sent >= due, "sent {sent} before due {due}");
                    if let Some((repeat, time)) = rule {
                        if let Some(next) = next_after(repeat, time, tz, due) {
                            assert!(next > due, "{repeat:?} at {time}: {next} after {due}");
                        }
                    }
                }
            }
        }
        ReminderCommand::Cancel(number) => assert!(number > 0, "reminder {number}"),
        ReminderCommand::Snooze(delay) => bounded(delay),
        ReminderCommand::List | ReminderCommand::Help => {}
    }
});
