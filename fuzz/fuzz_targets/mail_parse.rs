//! The work inbox's mail parsing (`inbox::parse_mail`) and the heuristic triage of its result.
//!
//! Properties beyond "does not panic" (parsing never fails, whatever the bytes):
//! * parsing is deterministic (the same bytes fetched again de-duplicate);
//! * the Message-ID is `<…>`, at most `MAX_MESSAGE_ID` bytes inside, on one line;
//! * subject, body, sender name and address are bounded, single-line and free of control
//!   characters (Postgres refuses a NUL), with no surrounding whitespace.
#![no_main]

use alfred_skills_biz::inbox::parse::{MAX_BODY, MAX_MESSAGE_ID, MAX_SUBJECT};
use alfred_skills_biz::inbox::{heuristic, parse_mail};
use libfuzzer_sys::fuzz_target;

fn clean(field: &str, text: &str, max_chars: usize) {
    assert!(text.chars().count() <= max_chars, "{field} too long");
    assert!(
        !text.chars().any(|c| c.is_control()),
        "{field} holds a control character: {text:?}"
    );
    assert_eq!(text.trim(), text, "{field} is not trimmed");
}

fuzz_target!(|raw: &[u8]| {
    let mail = parse_mail(raw);
    assert_eq!(parse_mail(raw), mail, "parsing is not deterministic");

    let id = &mail.message_id;
    assert!(id.starts_with('<') && id.ends_with('>'), "{id:?}");
    assert!(id.len() <= MAX_MESSAGE_ID + 2, "{} bytes", id.len());
    clean("message_id", id, MAX_MESSAGE_ID + 2);
    clean("subject", &mail.subject, MAX_SUBJECT);
    clean("body", &mail.body, MAX_BODY);
    clean("from_addr", &mail.from_addr, 320);
    if let Some(name) = &mail.from_name {
        assert!(!name.is_empty());
        clean("from_name", name, 200);
    }

    let _ = heuristic(&mail);
});
