//! The deterministic triage on realistic mails: the first matching rule decides, and says why.

mod inbox_support;

use alfred_skills_biz::inbox::{heuristic, parse_mail, Category, Mail, Triage, TriageBy};
use chrono::{TimeZone, Utc};
use inbox_support::*;

/// A mail from Ana López sent Wednesday 2026-11-25 with this subject and body.
fn mail(subject: &str, body: &str) -> Mail {
    Mail {
        message_id: "<t@acme.com>".to_owned(),
        from_name: Some("Ana López".to_owned()),
        from_addr: "ana@acme.com".to_owned(),
        subject: subject.to_owned(),
        sent_at: Some(Utc.with_ymd_and_hms(2026, 11, 25, 7, 0, 0).unwrap()),
        body: body.to_owned(),
        important: false,
        set_aside: None,
    }
}

fn triage(category: Category, why: &str, next_action: &str) -> Triage {
    Triage {
        category,
        why: why.to_owned(),
        next_action: next_action.to_owned(),
        by: TriageBy::Heuristic,
    }
}

#[test]
fn an_urgent_subject_with_a_question_is_urgent_and_asks_for_a_reply_today() {
    assert_eq!(
        heuristic(&parse_mail(URGENT_ALTERNATIVE.as_bytes())),
        triage(
            Category::Urgent,
            "says \"urgent\" in the subject",
            "reply to Ana today"
        )
    );
}

#[test]
fn urgency_comes_from_the_subject_then_the_priority_header_then_the_body() {
    assert_eq!(
        heuristic(&mail("Invoice 2231 overdue", "See attached.")),
        triage(
            Category::Urgent,
            "says \"overdue\" in the subject",
            "deal with it today"
        )
    );
    let mut important = mail("Budget", "See attached.");
    important.important = true;
    assert_eq!(
        heuristic(&important).why,
        "is marked high priority".to_owned()
    );
    assert_eq!(
        heuristic(&mail("Checkout", "The payment page is down since 7am.")).why,
        "says \"is down\" in the body"
    );
    assert_eq!(
        heuristic(&mail("Re: numbers", "I need them by EOD.")).why,
        "says \"eod\" in the body"
    );
    assert_eq!(
        heuristic(&mail("FINAL NOTICE", "")).why,
        "says \"final notice\" in the subject"
    );
}

#[test]
fn words_match_whole_so_download_and_todays_are_not_urgent() {
    let fyi = heuristic(&mail(
        "New version",
        "The download link and todays changelog are on the site.",
    ));
    assert_eq!(fyi.category, Category::Fyi);
}

#[test]
fn a_sender_who_will_act_puts_the_mail_on_waiting_until_three_days_after_it_was_sent() {
    assert_eq!(
        heuristic(&parse_mail(WAITING_ENCODED.as_bytes())),
        triage(
            Category::Waiting,
            "Chen says \"will send\"",
            "nothing now; follow up if no answer by Sat 28 Nov"
        )
    );
    let mut undated = mail(
        "Re: access",
        "We're looking into it and I'll get back to you.",
    );
    undated.sent_at = None;
    assert_eq!(
        heuristic(&undated),
        triage(
            Category::Waiting,
            "Ana says \"i'll get back\"",
            "nothing now; follow up if no answer in 3 days"
        )
    );
}

#[test]
fn the_readers_promise_is_not_the_senders() {
    let asked = heuristic(&mail("Slides", "When you will send the slides, copy Bob."));
    assert_eq!(asked.category, Category::Fyi);
    let asked = heuristic(&mail(
        "Slides",
        "Do you know when you will send the slides?",
    ));
    assert_eq!(asked.category, Category::NeedsReply);
}

#[test]
fn a_question_or_a_request_needs_a_reply_to_the_senders_first_name() {
    assert_eq!(
        heuristic(&parse_mail(NO_MESSAGE_ID.as_bytes())),
        triage(Category::NeedsReply, "asks a question", "reply to Dana")
    );
    assert_eq!(
        heuristic(&mail("Deck", "Could you share the deck from Monday")),
        triage(Category::NeedsReply, "asks \"could you\"", "reply to Ana")
    );
    let mut comma = mail("Deck", "Please send the deck.");
    comma.from_name = Some("López, Ana".to_owned());
    assert_eq!(heuristic(&comma).next_action, "reply to Ana");
    let mut nameless = mail("Deck", "Can you send the deck");
    nameless.from_name = None;
    assert_eq!(heuristic(&nameless).next_action, "reply to ana@acme.com");
}

#[test]
fn a_question_mark_inside_a_link_is_not_a_question() {
    assert_eq!(
        heuristic(&parse_mail(HTML_ONLY.as_bytes())),
        triage(
            Category::Fyi,
            "no question, request or deadline",
            "read when convenient, then mark done"
        )
    );
    let link = heuristic(&mail(
        "Dashboard",
        "The numbers are at https://bi.acme.com/report?week=48&team=sales for reference.",
    ));
    assert_eq!(link.category, Category::Fyi);
}

#[test]
fn the_heuristic_is_deterministic() {
    let mail = parse_mail(URGENT_ALTERNATIVE.as_bytes());
    assert_eq!(heuristic(&mail), heuristic(&mail.clone()));
}
