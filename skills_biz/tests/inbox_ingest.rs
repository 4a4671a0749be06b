//! Ingest on Postgres: each Message-ID stored once, each mail triaged once, set-aside mail
//! stored already categorised, and the IMAP cursor per account.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod inbox_support;

use alfred_skills_biz::inbox::{self, IngestReport};
use inbox_support::*;

#[tokio::test]
async fn the_same_mail_fetched_twice_is_stored_and_summarised_once() {
    let db = Db::create().await;

    let first = db.ingest(&[URGENT_ALTERNATIVE, NO_MESSAGE_ID]).await;
    let again = db
        .ingest(&[URGENT_ALTERNATIVE, NO_MESSAGE_ID, URGENT_ALTERNATIVE])
        .await;

    assert_eq!(
        first,
        IngestReport {
            stored: 2,
            duplicates: 0,
            set_aside: 0,
            summarised: 2
        }
    );
    assert_eq!(
        again,
        IngestReport {
            stored: 0,
            duplicates: 3,
            set_aside: 0,
            summarised: 0
        }
    );
    assert_eq!(
        db.value::<i64>("SELECT count(*) FROM work_mails", &[])
            .await,
        2
    );
    db.drop().await;
}

#[tokio::test]
async fn a_message_id_seen_before_is_a_duplicate_even_with_other_bytes() {
    let db = Db::create().await;
    let resent = URGENT_ALTERNATIVE
        .replace(
            "Received: from mail.acme.com",
            "Received: from relay2.acme.com",
        )
        .replace("signed by Friday", "signed by Thursday");

    let first = db.ingest(&[URGENT_ALTERNATIVE]).await;
    let second = db.ingest(&[&resent]).await;

    assert_eq!((first.stored, first.duplicates), (1, 0));
    assert_eq!(
        (second.stored, second.duplicates, second.summarised),
        (0, 1, 0)
    );
    let body: String = db
        .value(
            "SELECT body FROM work_mails WHERE message_id = '<CAF1234.renewal@mail.acme.com>'",
            &[],
        )
        .await;
    assert!(body.contains("by Friday"), "the first copy is kept: {body}");
    db.drop().await;
}

#[tokio::test]
async fn each_mail_is_stored_with_its_triage() {
    let db = Db::create().await;

    db.ingest(&[URGENT_ALTERNATIVE, WAITING_ENCODED]).await;

    assert_eq!(
        db.triage_of("<CAF1234.renewal@mail.acme.com>").await,
        (
            Some("urgent".into()),
            Some("says \"urgent\" in the subject".into()),
            Some("reply to Ana today".into()),
            Some("heuristic".into())
        )
    );
    assert_eq!(
        db.triage_of("<quote-77@initech.com>").await.0.as_deref(),
        Some("waiting")
    );
    let (from_name, subject, stored_at): (Option<String>, String, chrono::DateTime<chrono::Utc>) = {
        let client = db.pool.get().await.unwrap();
        let row = client
            .query_one(
                "SELECT from_name, subject, stored_at FROM work_mails \
                 WHERE message_id = '<quote-77@initech.com>'",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    };
    assert_eq!(from_name.as_deref(), Some("Chen Wei"));
    assert_eq!(subject, "Re: Quote for the new laptops – update");
    assert_eq!(stored_at, now());
    db.drop().await;
}

#[tokio::test]
async fn set_aside_mail_is_stored_categorised_and_never_triaged() {
    let db = Db::create().await;

    let report = db.ingest(&[NEWSLETTER, NO_REPLY, HTML_ONLY]).await;

    assert_eq!(
        report,
        IngestReport {
            stored: 3,
            duplicates: 0,
            set_aside: 2,
            summarised: 1
        }
    );
    let newsletter = db.triage_of("<weekly-2026-48@news.acme.com>").await;
    assert_eq!(newsletter.0.as_deref(), Some("set_aside"));
    assert_eq!(newsletter.2, None, "no next action: it was not triaged");
    let reason: String = db
        .value(
            "SELECT set_aside FROM work_mails WHERE message_id = '<acme/app/pull/12/merged@github.com>'",
            &[],
        )
        .await;
    assert_eq!(reason, "no_reply");
    db.drop().await;
}

#[tokio::test]
async fn a_mail_stored_but_never_summarised_is_triaged_by_the_next_ingest() {
    let db = Db::create().await;
    db.ingest(&[URGENT_ALTERNATIVE]).await;
    // A crash between storing and summarising leaves the row without a triage.
    db.execute(
        "UPDATE work_mails SET category = NULL, why = NULL, next_action = NULL, \
         summarised_by = NULL, summarised_at = NULL",
        &[],
    )
    .await;

    let report = db.ingest(&[]).await;

    assert_eq!(
        report,
        IngestReport {
            summarised: 1,
            ..IngestReport::default()
        }
    );
    assert_eq!(
        db.triage_of("<CAF1234.renewal@mail.acme.com>")
            .await
            .0
            .as_deref(),
        Some("urgent")
    );
    db.drop().await;
}

#[tokio::test]
async fn two_pollers_ingesting_the_same_mails_at_once_store_and_summarise_each_once() {
    let db = Db::create().await;
    let raws: Vec<Vec<u8>> = (0..30).map(|n| fyi(n, n).into_bytes()).collect();
    let other = MailStoreClone::new(&db);

    let (one, two) = tokio::join!(
        inbox::ingest(&db.store, &raws, None, now()),
        inbox::ingest(&other.0, &raws, None, now())
    );

    let (one, two) = (one.unwrap(), two.unwrap());
    assert_eq!(one.stored + two.stored, 30);
    assert_eq!(one.duplicates + two.duplicates, 30);
    assert_eq!(one.summarised + two.summarised, 30);
    assert_eq!(
        db.value::<i64>(
            "SELECT count(*) FROM work_mails WHERE summarised_at IS NOT NULL",
            &[]
        )
        .await,
        30
    );
    db.drop().await;
}

/// A second store on its own pool, as a second poller process would have.
struct MailStoreClone(inbox::MailStore);

impl MailStoreClone {
    fn new(db: &Db) -> Self {
        let pool = alfred_actors::store::PgStore::connect(db.db.url())
            .unwrap()
            .pool()
            .clone();
        MailStoreClone(inbox::MailStore::new(pool))
    }
}

#[tokio::test]
async fn the_cursor_of_each_account_is_saved_and_replaced() {
    let db = Db::create().await;
    let account = "owner@imap.example.com:993/INBOX";

    assert_eq!(db.store.cursor(account).await.unwrap(), None);
    db.store
        .save_cursor(account, 1_700_000_000, 42, now())
        .await
        .unwrap();
    db.store
        .save_cursor("other@imap.example.com:993/INBOX", 7, 1, now())
        .await
        .unwrap();
    assert_eq!(
        db.store.cursor(account).await.unwrap(),
        Some((1_700_000_000, 42))
    );
    db.store
        .save_cursor(account, u32::MAX, u32::MAX, now())
        .await
        .unwrap();

    assert_eq!(
        db.store.cursor(account).await.unwrap(),
        Some((u32::MAX, u32::MAX))
    );
    assert_eq!(
        db.store
            .cursor("other@imap.example.com:993/INBOX")
            .await
            .unwrap(),
        Some((7, 1))
    );
    db.drop().await;
}

#[tokio::test]
async fn an_unreachable_database_is_an_unavailable_store_error() {
    let pool = alfred_actors::store::PgStore::connect_with(
        "postgres://postgres@127.0.0.1:1/nothing",
        alfred_actors::store::postgres::PgOptions {
            connect_timeout: std::time::Duration::from_millis(500),
            wait_timeout: std::time::Duration::from_millis(500),
            ..Default::default()
        },
    )
    .unwrap()
    .pool()
    .clone();
    let store = inbox::MailStore::new(pool);

    let error = inbox::ingest(&store, &[fyi(1, 1).into_bytes()], None, now())
        .await
        .unwrap_err();

    assert!(error.is_unavailable(), "{error}");
}
