//! Raw mails as IMAP returns them, parsed into what the inbox stores.

mod inbox_support;

use alfred_skills_biz::inbox::{parse_mail, SetAside};
use chrono::{TimeZone, Utc};
use inbox_support::*;
use sha2::{Digest, Sha256};

#[test]
fn a_multipart_alternative_mail_keeps_its_plain_text_without_the_quoted_reply() {
    let mail = parse_mail(URGENT_ALTERNATIVE.as_bytes());

    assert_eq!(mail.message_id, "<CAF1234.renewal@mail.acme.com>");
    assert_eq!(mail.from_name.as_deref(), Some("Ana López"));
    assert_eq!(mail.from_addr, "ana@acme.com");
    assert_eq!(mail.subject, "URGENT: contract renewal due Friday");
    assert_eq!(
        mail.sent_at,
        Some(Utc.with_ymd_and_hms(2026, 11, 25, 7, 0, 0).unwrap())
    );
    assert_eq!(
        mail.body,
        "Hi, the renewal must be signed by Friday. Can you sign and return it? Thanks, Ana"
    );
    assert!(!mail.important);
    assert_eq!(mail.set_aside, None);
}

#[test]
fn an_html_only_mail_is_read_without_its_tags_styles_and_entities() {
    let mail = parse_mail(HTML_ONLY.as_bytes());

    assert_eq!(mail.message_id, "<workshop-notes-42@globex.com>");
    assert!(mail.body.contains("Workshop"), "{:?}", mail.body);
    assert!(
        mail.body
            .contains("Here are the notes & the slides: notes."),
        "{:?}",
        mail.body
    );
    for markup in ["<", ">", "color: red", "&amp;", "\n"] {
        assert!(!mail.body.contains(markup), "{markup:?} in {:?}", mail.body);
    }
    assert_eq!(mail.set_aside, None);
}

#[test]
fn encoded_word_subjects_and_names_are_decoded() {
    let mail = parse_mail(WAITING_ENCODED.as_bytes());
    assert_eq!(mail.subject, "Re: Quote for the new laptops – update");

    let latin1 = "From: =?ISO-8859-1?Q?Jos=E9_Mu=F1oz?= <jose@example.es>\r\n\
                  Subject: =?ISO-8859-1?Q?Reuni=F3n_ma=F1ana?=\r\n\
                  Message-ID: <x1@example.es>\r\n\r\nHola\r\n";
    let mail = parse_mail(latin1.as_bytes());
    assert_eq!(mail.from_name.as_deref(), Some("José Muñoz"));
    assert_eq!(mail.subject, "Reunión mañana");
}

#[test]
fn a_mail_without_message_id_gets_the_hash_of_its_bytes() {
    let mail = parse_mail(NO_MESSAGE_ID.as_bytes());
    let expected = format!(
        "<{}@alfred.invalid>",
        hex::encode(Sha256::digest(NO_MESSAGE_ID.as_bytes()))
    );

    assert_eq!(mail.message_id, expected);
    assert_eq!(parse_mail(NO_MESSAGE_ID.as_bytes()).message_id, expected);
    let other = NO_MESSAGE_ID.replace("Thursday", "Friday");
    assert_ne!(parse_mail(other.as_bytes()).message_id, expected);
    assert_eq!(mail.from_name.as_deref(), Some("Dana Scully"));
    assert_eq!(mail.body, "Are you free on Thursday?");
}

#[test]
fn newsletters_are_set_aside_by_their_list_headers_or_bulk_precedence() {
    assert_eq!(
        parse_mail(NEWSLETTER.as_bytes()).set_aside,
        Some(SetAside::Newsletter)
    );
    let list_id = "From: team@lists.example.org\r\nList-Id: <team.lists.example.org>\r\n\
                   Subject: hi\r\n\r\nhello\r\n";
    assert_eq!(
        parse_mail(list_id.as_bytes()).set_aside,
        Some(SetAside::Newsletter)
    );
    let bulk = "From: offers@shop.example\r\nPrecedence: bulk\r\nSubject: Sale\r\n\r\nSale\r\n";
    assert_eq!(
        parse_mail(bulk.as_bytes()).set_aside,
        Some(SetAside::Newsletter)
    );
}

#[test]
fn no_reply_senders_are_set_aside_and_people_are_not() {
    assert_eq!(
        parse_mail(NO_REPLY.as_bytes()).set_aside,
        Some(SetAside::NoReply)
    );
    for sender in [
        "no-reply@accounts.google.com",
        "NoReply+abc@service.example",
        "do-not-reply@bank.example",
        "donotreply@example.com",
        "MAILER-DAEMON@mx.example.com",
        "notifications@github.com",
        "noreply-invoices@stripe.example",
    ] {
        let raw = format!("From: {sender}\r\nSubject: x\r\n\r\nbody\r\n");
        assert_eq!(
            parse_mail(raw.as_bytes()).set_aside,
            Some(SetAside::NoReply),
            "{sender}"
        );
    }
    for sender in ["ana@acme.com", "noreen@example.com", "replies@example.com"] {
        let raw = format!("From: {sender}\r\nSubject: x\r\n\r\nbody\r\n");
        assert_eq!(parse_mail(raw.as_bytes()).set_aside, None, "{sender}");
    }
}

#[test]
fn auto_submitted_mail_is_set_aside_unless_it_says_no() {
    let auto = "From: Ana López <ana@acme.com>\r\nAuto-Submitted: auto-replied\r\n\
                Subject: Out of office\r\n\r\nI am away until Monday.\r\n";
    assert_eq!(
        parse_mail(auto.as_bytes()).set_aside,
        Some(SetAside::Automated)
    );
    let junk = "From: x@example.com\r\nPrecedence: junk\r\nSubject: x\r\n\r\nx\r\n";
    assert_eq!(
        parse_mail(junk.as_bytes()).set_aside,
        Some(SetAside::Automated)
    );
    let person = "From: Ana López <ana@acme.com>\r\nAuto-Submitted: no\r\n\
                  Subject: Hi\r\n\r\nHello\r\n";
    assert_eq!(parse_mail(person.as_bytes()).set_aside, None);
}

#[test]
fn high_priority_headers_mark_a_mail_important() {
    for header in [
        "Importance: High",
        "X-Priority: 1 (Highest)",
        "X-Priority: 2",
    ] {
        let raw = format!("From: a@b.example\r\n{header}\r\nSubject: x\r\n\r\nx\r\n");
        assert!(parse_mail(raw.as_bytes()).important, "{header}");
    }
    for header in ["Importance: normal", "X-Priority: 3 (Normal)"] {
        let raw = format!("From: a@b.example\r\n{header}\r\nSubject: x\r\n\r\nx\r\n");
        assert!(!parse_mail(raw.as_bytes()).important, "{header}");
    }
}

#[test]
fn a_mail_without_sender_or_subject_and_garbage_still_parse() {
    let bare = parse_mail(b"\r\njust a body\r\n");
    assert_eq!(bare.from_addr, "");
    assert_eq!(bare.from_name, None);
    assert_eq!(bare.subject, "");
    assert!(bare.message_id.ends_with("@alfred.invalid>"));

    for raw in [&b""[..], b"\xff\xfe\x00\x01", b"From:\r\n\r\n"] {
        let mail = parse_mail(raw);
        assert!(mail.message_id.ends_with("@alfred.invalid>"), "{raw:?}");
        assert_eq!(mail.from_addr, "");
    }
}

#[test]
fn a_long_body_is_cut_to_4000_characters_and_control_characters_become_spaces() {
    let raw = format!(
        "From: a@b.example\r\nMessage-ID: <long@b.example>\r\nSubject: a\u{0}b\r\n\r\n{}\r\n",
        "ñ word\u{0} ".repeat(2000)
    );
    let mail = parse_mail(raw.as_bytes());

    let length = mail.body.chars().count();
    assert!((3990..=4000).contains(&length), "{length}");
    assert!(mail.body.ends_with('…'));
    assert!(!mail.body.contains('\u{0}'));
    assert!(!mail.subject.contains('\u{0}'));
}
