//! The inbox's replies: short, Slack-flavoured (`*bold*`), and only what the store said.

use super::parse::cut;
use super::store::{Item, Section};

/// Most items shown per section; the rest are counted.
pub const SECTION_CAP: usize = 10;
/// Most set-aside mails listed.
pub const SET_ASIDE_CAP: usize = 20;
/// Longest subject shown, in characters.
const SUBJECT_SHOWN: usize = 150;

/// The answer to anyone not in `INBOX_READERS`: nothing about the mail, not even whether any.
pub const PRIVATE: &str = "The work inbox is private: only the people in INBOX_READERS can see it.";
/// The answer in a group chat, where everyone would read the mail.
pub const GROUP: &str =
    "The work inbox is only shown in a direct chat with me (or with /alfred inbox in Slack).";
/// The answer in ephemeral mode.
pub const NOT_SET_UP: &str = "The work inbox is not set up: it needs IMAP_HOST, IMAP_USER, \
     IMAP_PASSWORD and the durable stores (see README).";
/// The answer before the first poll.
pub const NOTHING_READ: &str = "No mailbox has been read yet. IMAP is polled every \
     IMAP_POLL_INTERVAL_MS (a minute by default): ask again after the first poll.";

/// `Ana López <ana@acme.com>`, `ana@acme.com`, `Ana López`, or `unknown sender`.
fn sender(item: &Item) -> String {
    match (&item.from_name, item.from_addr.as_str()) {
        (Some(name), "") => name.clone(),
        (Some(name), addr) if name.eq_ignore_ascii_case(addr) => addr.to_owned(),
        (Some(name), addr) => format!("{name} <{addr}>"),
        (None, "") => "unknown sender".to_owned(),
        (None, addr) => addr.to_owned(),
    }
}

fn subject(item: &Item) -> String {
    if item.subject.is_empty() {
        "(no subject)".to_owned()
    } else {
        cut(&item.subject, SUBJECT_SHOWN)
    }
}

/// `• #12 Ana López <ana@acme.com> — Contract renewal due Friday`.
fn headline(item: &Item) -> String {
    format!("• #{} {} — {}", item.id, sender(item), subject(item))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn set_aside_line(set_aside: usize) -> Option<String> {
    (set_aside > 0).then(|| {
        format!(
            "Set aside: {} (inbox set aside lists them)",
            plural(
                set_aside,
                "newsletter or no-reply mail",
                "newsletters and no-reply mails"
            )
        )
    })
}

/// The triage: open items by category (then those not yet triaged), newest first.
pub(crate) fn summary(sections: &[Section], set_aside: usize) -> String {
    let open: usize = sections.iter().map(|section| section.total).sum();
    let mut lines = Vec::new();
    if open == 0 {
        lines.push("*Inbox* — inbox zero: nothing open.".to_owned());
        lines.extend(set_aside_line(set_aside));
        return lines.join("\n");
    }
    lines.push(format!("*Inbox* — {open} open, {set_aside} set aside"));
    let order = super::triage::Category::ALL
        .into_iter()
        .map(Some)
        .chain([None]);
    let mut first_id = None;
    for category in order {
        let Some(section) = sections.iter().find(|s| s.category == category) else {
            continue;
        };
        lines.push(match category {
            Some(category) => format!("*{}*", category.heading()),
            None => "*Not yet triaged*".to_owned(),
        });
        for item in section.items.iter().take(SECTION_CAP) {
            first_id.get_or_insert(item.id);
            lines.push(headline(item));
            if let (Some(why), Some(next)) = (&item.why, &item.next_action) {
                lines.push(format!("  why: {why} · next: {next}"));
            }
        }
        if section.total > SECTION_CAP {
            lines.push(format!("  …and {} more", section.total - SECTION_CAP));
        }
    }
    lines.extend(set_aside_line(set_aside));
    if let Some(id) = first_id {
        lines.push(format!("Mark done: inbox done #{id}"));
    }
    lines.join("\n")
}

/// The mails set aside, newest first.
pub(crate) fn set_aside_list(total: usize, items: &[Item]) -> String {
    if total == 0 {
        return "Nothing is set aside.".to_owned();
    }
    let mut lines = vec![format!(
        "*Set aside* — {}, never sent to the LLM",
        plural(
            total,
            "newsletter or no-reply mail",
            "newsletters and no-reply mails"
        )
    )];
    for item in items {
        let reason = item
            .set_aside
            .map(|reason| format!(" ({})", reason.label()))
            .unwrap_or_default();
        lines.push(format!("{}{reason}", headline(item)));
    }
    if total > items.len() {
        lines.push(format!("  …and {} more", total - items.len()));
    }
    if let Some(item) = items.first() {
        lines.push(format!("Mark done: inbox done #{}", item.id));
    }
    lines.join("\n")
}

/// `Done: #12 Contract renewal due Friday.` and `#99 is not an open item.`
pub(crate) fn done(done: &[(i64, String)], asked: &[i64]) -> String {
    let mut lines = Vec::new();
    if !done.is_empty() {
        let names: Vec<String> = done
            .iter()
            .map(|(id, subject)| {
                let subject = if subject.is_empty() {
                    "(no subject)".to_owned()
                } else {
                    cut(subject, SUBJECT_SHOWN)
                };
                format!("#{id} {subject}")
            })
            .collect();
        let names = names.join("; ");
        let stop = if names.ends_with(['.', '?', '!']) {
            ""
        } else {
            "."
        };
        lines.push(format!("Done: {names}{stop}"));
    }
    let missing: Vec<String> = asked
        .iter()
        .filter(|id| !done.iter().any(|(done, _)| done == *id))
        .map(|id| format!("#{id}"))
        .collect();
    match missing.as_slice() {
        [] => {}
        [one] => lines.push(format!("{one} is not an open item.")),
        [rest @ .., last] => lines.push(format!(
            "{} and {last} are not open items.",
            rest.join(", ")
        )),
    }
    lines.join("\n")
}
