//! The chores grammar (`chores::parse`).
//!
//! Properties beyond "does not panic":
//! * names are bounded and non-empty, and a new chore's recurrence is one the store can keep
//!   (`Recurrence::key` reads back, once resolved) and a rotation names nobody twice;
//! * the canonical text of a done, skip, swap, remove or listing command — the text the LLM
//!   tools produce (`done dishes`, `Sam did the bins`, `skip dishes`, `swap dishes with Kim`) —
//!   re-parses to the same command, for every name the tools would pass on (letters, digits,
//!   spaces, hyphens and apostrophes; a member one word of letters).
#![no_main]

use alfred_skills_home::chores::{parse, Assign, ChoreCommand, Member, Recurrence};
use libfuzzer_sys::fuzz_target;

/// What the tools let through as a chore's name (`chores::tools`).
fn tool_chore(name: &str) -> bool {
    name.chars().count() <= 60
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '\''))
}

/// What the tools let through as a member's name.
fn tool_member(member: &Member) -> bool {
    match member {
        Member::Me => true,
        Member::Named(name) => name
            .chars()
            .all(|c| c.is_alphabetic() || matches!(c, '-' | '\'')),
    }
}

fn member_text(member: &Member) -> &str {
    match member {
        Member::Me => "me",
        Member::Named(name) => name,
    }
}

/// The canonical text of a command, when the tools could produce it.
fn canonical(command: &ChoreCommand) -> Option<String> {
    Some(match command {
        ChoreCommand::Done { chore, by } if tool_chore(chore) && tool_member(by) => match by {
            Member::Me => format!("done {chore}"),
            Member::Named(name) => format!("{name} did {chore}"),
        },
        ChoreCommand::Skip { chore } if tool_chore(chore) => format!("skip {chore}"),
        ChoreCommand::Swap { chore, with } if tool_chore(chore) && tool_member(with) => {
            format!("swap {chore} with {}", member_text(with))
        }
        ChoreCommand::Remove { chore } if tool_chore(chore) => format!("remove chore {chore}"),
        ChoreCommand::List { mine: false } => "chores".to_owned(),
        ChoreCommand::List { mine: true } => "my chores".to_owned(),
        ChoreCommand::DueToday => "what's due today".to_owned(),
        ChoreCommand::Overdue => "what's overdue".to_owned(),
        ChoreCommand::Stats => "chore stats".to_owned(),
        _ => return None,
    })
}

fn check_name(name: &str) {
    assert!(!name.trim().is_empty(), "empty name");
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Some(command) = parse(text) else {
        return;
    };
    match &command {
        ChoreCommand::Add {
            name,
            recurrence,
            assign,
        } => {
            check_name(name);
            let start = chrono::NaiveDate::from_ymd_opt(2026, 12, 2).expect("a date");
            let resolved = recurrence.resolve(start);
            assert_eq!(
                Recurrence::from_key(&resolved.key()),
                Some(resolved),
                "{recurrence:?} cannot be stored"
            );
            let _ = resolved.describe();
            let _ = resolved.next_after(start, start);
            if let Assign::Rotation(members) = assign {
                for (i, member) in members.iter().enumerate() {
                    assert!(!members[..i].contains(member), "{member:?} twice");
                }
            }
        }
        ChoreCommand::AddHelp { name: Some(name) } => check_name(name),
        ChoreCommand::Remove { chore }
        | ChoreCommand::Done { chore, .. }
        | ChoreCommand::Skip { chore }
        | ChoreCommand::Swap { chore, .. } => {
            check_name(chore);
            assert!(chore.len() <= 100, "{} bytes", chore.len());
        }
        _ => {}
    }
    if let Some(text) = canonical(&command) {
        assert_eq!(parse(&text), Some(command), "canonical text {text:?}");
    }
});
