//! The inbox skill end to end at the effect level: its grammar and tools, the reader check,
//! and its effects applied in a committed Postgres transaction (or the in-memory store's).

mod inbox_support;

use alfred_actors::llm::ToolCall;
use alfred_actors::messages::Platform;
use alfred_skills_biz::inbox;
use inbox_support::*;
use serde_json::json;

const PRIVATE: &str = "The work inbox is private: only the people in INBOX_READERS can see it.";

#[test]
fn the_route_claims_the_inbox_commands_and_nothing_else() {
    let route = inbox::route();
    for text in [
        "inbox",
        "  Inbox ",
        "summarise my inbox",
        "Summarize my inbox?",
        "summarise inbox",
        "inbox summary",
        "what's in my inbox?",
        "What’s in my inbox",
        "inbox done 12",
        "inbox done #12 #14",
        "inbox done #12, #14 and #15",
        "done #12",
        "Done #12 #14.",
        "inbox set aside",
    ] {
        assert!(route.understands(text), "{text:?}");
    }
    for text in [
        "done 12",
        "done dishes",
        "done",
        "inbox done",
        "inbox done #x",
        "inbox please",
        "who is in my inbox",
        "deals closing this week",
        "done #12 and dishes",
    ] {
        assert!(!route.understands(text), "{text:?}");
    }
    assert_eq!(route.name(), "inbox");
    assert!(route
        .help()
        .iter()
        .any(|line| line.starts_with("inbox done #12")));
}

#[test]
fn tool_calls_become_grammar_text() {
    let route = inbox::route();
    let names: Vec<String> = route.tools().into_iter().map(|tool| tool.name).collect();
    assert_eq!(names, vec!["inbox_summary", "inbox_done"]);
    let call = |name: &str, arguments| ToolCall {
        name: name.to_owned(),
        arguments,
    };

    assert_eq!(
        route.command_for(&call("inbox_summary", json!({}))),
        Some("inbox".to_owned())
    );
    assert_eq!(
        route.command_for(&call("inbox_done", json!({"ids": [12, "#14", 12]}))),
        Some("inbox done #12 #14".to_owned())
    );
    for arguments in [
        json!({"ids": []}),
        json!({"ids": [0]}),
        json!({"ids": [-3]}),
        json!({"ids": ["twelve"]}),
        json!({"ids": 12}),
        json!({}),
    ] {
        assert_eq!(
            route.command_for(&call("inbox_done", arguments.clone())),
            None,
            "{arguments}"
        );
    }
    assert_eq!(route.command_for(&call("crm_my_deals", json!({}))), None);
}

#[tokio::test]
async fn the_summary_groups_open_mail_by_category_newest_first() {
    let db = Db::create().await;
    db.store
        .save_cursor("owner@imap.example.com:993/INBOX", 1, 6, now())
        .await
        .unwrap();
    // Ids follow this order: #1 … #6.
    db.ingest(&[
        URGENT_ALTERNATIVE,
        HTML_ONLY,
        WAITING_ENCODED,
        NO_MESSAGE_ID,
        NEWSLETTER,
        NO_REPLY,
    ])
    .await;

    let reply = db
        .ask_on(Platform::Console, READER, "summarise my inbox")
        .await;

    assert_eq!(
        reply,
        "*Inbox* — 4 open, 2 set aside\n\
         *Urgent*\n\
         • #1 Ana López <ana@acme.com> — URGENT: contract renewal due Friday\n  \
         why: says \"urgent\" in the subject · next: reply to Ana today\n\
         *Needs reply*\n\
         • #4 Dana Scully <dana@fbi.example> — Lunch next week?\n  \
         why: asks a question · next: reply to Dana\n\
         *Waiting*\n\
         • #3 Chen Wei <chen@initech.com> — Re: Quote for the new laptops – update\n  \
         why: Chen says \"will send\" · next: nothing now; follow up if no answer by Sat 28 Nov\n\
         *FYI*\n\
         • #2 Bob Stone <bob@globex.com> — Notes from Tuesday's workshop\n  \
         why: no question, request or deadline · next: read when convenient, then mark done\n\
         Set aside: 2 newsletters and no-reply mails (inbox set aside lists them)\n\
         Mark done: inbox done #1"
    );
    db.drop().await;
}

/// Escaping for Slack is the Slack client's, for every reply (adapters `slack::text`); the
/// skill's text shows the mail as written, so it is never escaped twice.
#[tokio::test]
async fn on_slack_mail_text_is_left_as_written_for_the_slack_client_to_escape() {
    let db = Db::create().await;
    let raw = "From: Mallory <mallory@evil.example>\r\nSubject: <!channel> read this & that\r\n\
               Message-ID: <m1@evil.example>\r\n\r\nHello there.\r\n";
    db.ingest(&[raw]).await;

    let reply = db.ask(READER, "inbox").await;

    assert!(
        reply.contains("• #1 Mallory <mallory@evil.example> — <!channel> read this & that"),
        "{reply}"
    );
    assert!(
        !reply.contains("&amp;") && !reply.contains("&lt;"),
        "{reply}"
    );
    db.drop().await;
}

#[tokio::test]
async fn a_section_shows_the_ten_newest_and_counts_the_rest() {
    let db = Db::create().await;
    let raws: Vec<String> = (1..=12).map(|n| fyi(n, n)).collect();
    let raws: Vec<&str> = raws.iter().map(String::as_str).collect();
    db.ingest(&raws).await;

    let reply = db.ask_on(Platform::Console, READER, "inbox").await;

    let lines: Vec<&str> = reply.lines().collect();
    assert_eq!(lines[0], "*Inbox* — 12 open, 0 set aside");
    assert_eq!(lines[1], "*FYI*");
    assert_eq!(lines[2], "• #12 Eve Example <eve@example.org> — Report 12");
    let shown: Vec<&&str> = lines.iter().filter(|line| line.starts_with('•')).collect();
    assert_eq!(shown.len(), 10);
    assert_eq!(*shown[9], "• #3 Eve Example <eve@example.org> — Report 3");
    assert!(lines.contains(&"  …and 2 more"), "{reply}");
    assert_eq!(lines.last(), Some(&"Mark done: inbox done #12"));
    db.drop().await;
}

#[tokio::test]
async fn mail_not_yet_triaged_is_shown_rather_than_hidden() {
    let db = Db::create().await;
    db.ingest(&[HTML_ONLY]).await;
    db.execute(
        "INSERT INTO work_mails (message_id, from_addr, subject, stored_at, body) \
         VALUES ('<raw@x.example>', '', '', $1, 'arrived mid-poll')",
        &[&now()],
    )
    .await;

    let reply = db.ask_on(Platform::Console, READER, "inbox").await;

    assert!(
        reply.ends_with(
            "*Not yet triaged*\n• #2 unknown sender — (no subject)\nMark done: inbox done #1"
        ),
        "{reply}"
    );
    assert!(reply.starts_with("*Inbox* — 2 open, 0 set aside\n*FYI*\n• #1 Bob Stone"));
    db.drop().await;
}

#[tokio::test]
async fn marking_done_removes_items_names_unknown_ids_and_survives_a_new_fetch() {
    let db = Db::create().await;
    db.ingest(&[URGENT_ALTERNATIVE, HTML_ONLY, NO_MESSAGE_ID])
        .await;

    let reply = db
        .ask_on(Platform::Console, READER, "inbox done #1 #99 #3")
        .await;

    assert_eq!(
        reply,
        "Done: #1 URGENT: contract renewal due Friday; #3 Lunch next week?\n\
         #99 is not an open item."
    );
    let (done_at, done_by): (chrono::DateTime<chrono::Utc>, String) = {
        let client = db.pool.get().await.unwrap();
        let row = client
            .query_one("SELECT done_at, done_by FROM work_mails WHERE id = 1", &[])
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!((done_at, done_by.as_str()), (now(), READER));
    assert_eq!(
        db.ask_on(Platform::Console, READER, "done #1 #98").await,
        "#1 and #98 are not open items."
    );
    let summary = db.ask_on(Platform::Console, READER, "inbox").await;
    assert!(
        summary.starts_with("*Inbox* — 1 open, 0 set aside\n*FYI*\n• #2 "),
        "{summary}"
    );
    assert!(
        !summary.contains("#1 ") && !summary.contains("#3 "),
        "{summary}"
    );

    let again = db.ingest(&[URGENT_ALTERNATIVE]).await;
    assert_eq!(again.duplicates, 1);
    assert!(!db
        .ask_on(Platform::Console, READER, "inbox")
        .await
        .contains("#1 "));
    db.drop().await;
}

#[tokio::test]
async fn when_everything_is_done_it_is_inbox_zero() {
    let db = Db::create().await;
    db.ingest(&[HTML_ONLY, NEWSLETTER]).await;
    db.ask(READER, "done #1").await;

    let reply = db.ask_on(Platform::Console, READER, "inbox").await;

    assert_eq!(
        reply,
        "*Inbox* — inbox zero: nothing open.\n\
         Set aside: 1 newsletter or no-reply mail (inbox set aside lists them)"
    );
    db.drop().await;
}

#[tokio::test]
async fn set_aside_mail_is_listed_on_request_and_can_be_marked_done() {
    let db = Db::create().await;
    db.ingest(&[NEWSLETTER, HTML_ONLY, NO_REPLY]).await;

    let reply = db
        .ask_on(Platform::Console, READER, "inbox set aside")
        .await;

    assert_eq!(
        reply,
        "*Set aside* — 2 newsletters and no-reply mails, never sent to the LLM\n\
         • #1 Acme Weekly <news@acme.com> — Last chance today: 20% off (newsletter)\n\
         • #3 GitHub <noreply@github.com> — [acme/app] Pull request merged: can you review \
         the release? (no-reply sender)\n\
         Mark done: inbox done #1"
    );
    db.ask(READER, "inbox done 1 3").await;
    assert_eq!(
        db.ask(READER, "inbox set aside").await,
        "Nothing is set aside."
    );
    db.drop().await;
}

#[tokio::test]
async fn before_the_first_poll_nothing_has_been_read() {
    let db = Db::create().await;

    let reply = db.ask(READER, "inbox").await;

    assert!(
        reply.starts_with("No mailbox has been read yet."),
        "{reply}"
    );
    assert!(reply.contains("IMAP_POLL_INTERVAL_MS"), "{reply}");
    db.store
        .save_cursor("owner@imap.example.com:993/INBOX", 1, 0, now())
        .await
        .unwrap();
    assert_eq!(
        db.ask(READER, "inbox").await,
        "*Inbox* — inbox zero: nothing open."
    );
    db.drop().await;
}

#[tokio::test]
async fn someone_not_in_inbox_readers_gets_the_privacy_reply_and_nothing_else() {
    let db = Db::create().await;
    db.ingest(&[URGENT_ALTERNATIVE, NEWSLETTER]).await;

    for text in ["inbox", "inbox set aside", "done #1", "inbox done 1"] {
        assert_eq!(db.ask(STRANGER, text).await, PRIVATE, "{text}");
    }

    let open: i64 = db
        .value("SELECT count(*) FROM work_mails WHERE done_at IS NULL", &[])
        .await;
    assert_eq!(open, 2, "a stranger marked nothing done");
    assert_eq!(ask_in_memory(STRANGER, "inbox").await, PRIVATE);
    db.drop().await;
}

#[tokio::test]
async fn a_reader_in_a_group_chat_is_not_shown_the_mail() {
    let db = Db::create().await;
    db.ingest(&[URGENT_ALTERNATIVE]).await;
    let outcome = decide(Platform::WhatsApp, READER, "inbox", true).await;
    let mut client = db.pool.get().await.unwrap();
    let transaction = client.transaction().await.unwrap();

    let replies = outcome
        .effect
        .apply(&mut alfred_actors::store::Tx::Pg(&transaction))
        .await
        .unwrap();

    let text = replies[0].body.display_text();
    assert!(
        text.starts_with("The work inbox is only shown in a direct chat"),
        "{text}"
    );
    assert!(!text.contains("renewal"));
    drop(transaction);
    drop(client);
    db.drop().await;
}

#[tokio::test]
async fn in_ephemeral_mode_the_inbox_is_not_set_up() {
    assert_eq!(
        ask_in_memory(READER, "summarise my inbox").await,
        "The work inbox is not set up: it needs IMAP_HOST, IMAP_USER, IMAP_PASSWORD and the \
         durable stores (see README)."
    );
    assert_eq!(
        ask_in_memory(READER, "inbox done #3").await,
        "The work inbox is not set up: it needs IMAP_HOST, IMAP_USER, IMAP_PASSWORD and the \
         durable stores (see README)."
    );
}

#[tokio::test]
async fn without_inbox_readers_the_inbox_is_not_set_up_for_anyone() {
    let mut skill = inbox::skill(std::sync::Arc::from(Vec::<String>::new()));
    let outcome = skill
        .handle(request(Platform::Slack, READER, "inbox", false))
        .await
        .unwrap();
    let mut mem = alfred_actors::store::MemTx::default();
    let replies = outcome
        .effect
        .apply(&mut alfred_actors::store::Tx::Mem(&mut mem))
        .await
        .unwrap();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].body.display_text(), inbox::reply::NOT_SET_UP);
}
