//! The reminders' grammar: every documented form, and what it must not claim.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_skills_home::reminders::{parse, Day, ReminderCommand, Repeat, Target, When};
use chrono::{Duration, NaiveTime, Weekday};

fn at(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

fn add(to: Target, text: &str, when: When) -> Option<ReminderCommand> {
    Some(ReminderCommand::Add {
        to,
        text: text.to_owned(),
        when,
    })
}

#[test]
fn a_delay_before_or_after_the_text() {
    let expected = add(
        Target::Me,
        "water the plants",
        When::In(Duration::minutes(20)),
    );
    assert_eq!(
        parse("remind me in 20 minutes to water the plants"),
        expected
    );
    assert_eq!(
        parse("Remind me to water the plants in 20 minutes."),
        expected
    );
    assert_eq!(parse("remind me to water the plants in 20min"), expected);
    assert_eq!(
        parse("remind me in an hour to call Mum"),
        add(Target::Me, "call Mum", When::In(Duration::hours(1)))
    );
    assert_eq!(
        parse("remind us in 1h to leave"),
        add(Target::Me, "leave", When::In(Duration::hours(1)))
    );
    assert_eq!(
        parse("remind me to stretch in 1h"),
        add(Target::Me, "stretch", When::In(Duration::hours(1)))
    );
}

#[test]
fn a_time_of_day_today_tomorrow_or_on_a_weekday() {
    assert_eq!(
        parse("remind me to call grandma tomorrow at 5"),
        add(
            Target::Me,
            "call grandma",
            When::At {
                day: Day::Tomorrow,
                time: at(17, 0)
            }
        )
    );
    assert_eq!(
        parse("remind me at 7:30am to take the pills"),
        add(
            Target::Me,
            "take the pills",
            When::At {
                day: Day::Next,
                time: at(7, 30)
            }
        )
    );
    assert_eq!(
        parse("remind me to go to bed today at 22:15"),
        add(
            Target::Me,
            "go to bed",
            When::At {
                day: Day::Today,
                time: at(22, 15)
            }
        )
    );
    assert_eq!(
        parse("remind me to pay rent on Friday at 9 pm"),
        add(
            Target::Me,
            "pay rent",
            When::At {
                day: Day::Weekday(Weekday::Fri),
                time: at(21, 0)
            }
        )
    );
}

#[test]
fn bare_hours_one_to_six_are_the_afternoon_and_the_rest_as_written() {
    let time = |text: &str| match parse(text) {
        Some(ReminderCommand::Add {
            when: When::At { time, .. },
            ..
        }) => time,
        other => panic!("{text}: {other:?}"),
    };
    assert_eq!(time("remind me at 5 to x"), at(17, 0));
    assert_eq!(time("remind me at 6:30 to x"), at(18, 30));
    assert_eq!(time("remind me at 7 to x"), at(7, 0));
    assert_eq!(time("remind me at 12 to x"), at(12, 0));
    assert_eq!(time("remind me at 12am to x"), at(0, 0));
    assert_eq!(time("remind me at 5am to x"), at(5, 0));
    assert_eq!(time("remind me at noon to x"), at(12, 0));
    assert_eq!(time("remind me at 0:30 to x"), at(0, 30));
}

#[test]
fn recurring_reminders_for_a_member() {
    assert_eq!(
        parse("remind Sam to put the bins out every Thursday at 7"),
        add(
            Target::Named("Sam".to_owned()),
            "put the bins out",
            When::Every {
                repeat: Repeat::Weekly(Weekday::Thu),
                time: at(7, 0)
            }
        )
    );
    assert_eq!(
        parse("remind me every day at 8 to take the pills"),
        add(
            Target::Me,
            "take the pills",
            When::Every {
                repeat: Repeat::Daily,
                time: at(8, 0)
            }
        )
    );
    assert_eq!(
        parse("remind me daily at 8pm to lock up"),
        add(
            Target::Me,
            "lock up",
            When::Every {
                repeat: Repeat::Daily,
                time: at(20, 0)
            }
        )
    );
}

#[test]
fn listing_cancelling_and_snoozing() {
    assert_eq!(parse("reminders"), Some(ReminderCommand::List));
    assert_eq!(parse("My reminders?"), Some(ReminderCommand::List));
    assert_eq!(parse("cancel reminder 3"), Some(ReminderCommand::Cancel(3)));
    assert_eq!(
        parse("delete reminder #12"),
        Some(ReminderCommand::Cancel(12))
    );
    assert_eq!(
        parse("snooze 1h"),
        Some(ReminderCommand::Snooze(Duration::hours(1)))
    );
    assert_eq!(
        parse("snooze for 10 minutes"),
        Some(ReminderCommand::Snooze(Duration::minutes(10)))
    );
    assert_eq!(
        parse("snooze"),
        Some(ReminderCommand::Snooze(Duration::minutes(10)))
    );
}

#[test]
fn a_remind_without_a_time_is_claimed_to_explain_the_forms() {
    assert_eq!(
        parse("remind me to call grandma"),
        Some(ReminderCommand::Help)
    );
    assert_eq!(
        parse("remind me in 0 minutes to x"),
        Some(ReminderCommand::Help)
    );
    assert_eq!(parse("remind me at 25 to x"), Some(ReminderCommand::Help));
    assert_eq!(
        parse("remind me in 20 minutes to"),
        Some(ReminderCommand::Help)
    );
}

#[test]
fn other_skills_sentences_are_not_claimed() {
    for text in [
        "add milk",
        "add chore dishes daily",
        "chores",
        "cancel reminder",
        "cancel reminder x",
        "cancel milk",
        "snooze the alarm",
        "briefing",
        "reminder",
        "",
    ] {
        assert_eq!(parse(text), None, "{text:?}");
    }
}

#[test]
fn the_chores_and_grocery_grammars_leave_reminders_alone() {
    for text in [
        "remind me in 20 minutes to water the plants",
        "reminders",
        "cancel reminder 3",
        "snooze 1h",
    ] {
        assert!(alfred_skills_home::chores::parse(text).is_none(), "{text}");
    }
}

mod tools {
    use alfred_actors::llm::ToolCall;
    use alfred_skills_home::reminders::tools::{command_for, specs, ADD, LIST, SNOOZE};
    use serde_json::json;

    fn call(name: &str, arguments: serde_json::Value) -> Option<String> {
        command_for(&ToolCall {
            name: name.to_owned(),
            arguments,
        })
    }

    #[test]
    fn a_tool_call_becomes_the_sentence_a_person_would_type() {
        assert_eq!(
            call(
                ADD,
                json!({"text": "call grandma", "when": "tomorrow at 17:00"})
            ),
            Some("remind me to call grandma tomorrow at 17:00".to_owned())
        );
        assert_eq!(
            call(
                ADD,
                json!({"text": "put the bins out", "when": "every Thursday at 7:00", "who": "sam"})
            ),
            Some("remind Sam to put the bins out every thursday at 7:00".to_owned())
        );
        assert_eq!(call(LIST, json!({})), Some("reminders".to_owned()));
        assert_eq!(
            call(SNOOZE, json!({"minutes": 15})),
            Some("snooze 15 minutes".to_owned())
        );
        assert_eq!(specs().len(), 3);
    }

    #[test]
    fn invalid_arguments_are_refused_so_the_grammar_has_the_last_word() {
        for arguments in [
            json!({"text": "call grandma", "when": "soonish"}),
            json!({"text": "", "when": "in 5 minutes"}),
            json!({"text": "a\u{0007}b", "when": "in 5 minutes"}),
            json!({"text": "x", "when": "in 5 minutes", "who": "Sam Smith"}),
            // The time would swallow the text's last word: the grammar reads it back differently.
            json!({"text": "call mum on", "when": "friday at 8"}),
            json!({"when": "in 5 minutes"}),
        ] {
            assert_eq!(call(ADD, arguments.clone()), None, "{arguments}");
        }
        assert_eq!(call(SNOOZE, json!({"minutes": 0})), None);
        assert_eq!(call(SNOOZE, json!({"minutes": 100000})), None);
        assert_eq!(call("reminders_cancel", json!({"number": 1})), None);
    }
}
