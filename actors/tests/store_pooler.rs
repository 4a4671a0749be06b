//! The Postgres store through a transaction-mode PgBouncer with the statement cache off
//! (`DATABASE_STATEMENT_CACHE=off`): consecutive transactions of one connection land on
//! different server connections, and nothing may rely on a statement prepared by name.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap only fails the test that called it, with its message.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use alfred_actors::messages::Platform;
use alfred_actors::skill::{Effect, Reply};
use alfred_actors::store::postgres::{statements, PgStore};
use alfred_actors::store::{Commit, InboxKey, SendResult, Store, StoreError, Tx};
use alfred_testkit::db::{test_database_url, TestDb};
use alfred_testkit::pgbouncer::PrivatePgBouncer;
use alfred_testkit::stores::{whatsapp_inbox_key, whatsapp_reply_target as target};
use futures::future::BoxFuture;

const MESSAGES: usize = 60;
const LEASE: Duration = Duration::from_secs(3600);

/// Bumps a counter with a statement prepared through the connection's cache (as skills do),
/// then reads the conversation's activity, and answers once.
struct CachedBump;

impl Effect for CachedBump {
    fn apply<'a>(&'a self, tx: &'a mut Tx<'_>) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        Box::pin(async move {
            let Tx::Pg(pg) = tx else {
                return Err(StoreError::Other("a Postgres test".into()));
            };
            let statement = pg
                .prepare_cached("UPDATE pooled_counter SET n = n + 1 RETURNING n")
                .await?;
            let n: i64 = pg.query_one(&statement, &[]).await?.get(0);
            tx.last_message_from_person(Platform::WhatsApp, "4915112345678")
                .await?;
            Ok(vec![Reply::text(format!("count is {n}"))])
        })
    }
}

/// Bumps the counter like [`CachedBump`], then runs a statement that fails: its batch rolls
/// back and runs again with savepoints, still through the pooler.
struct BumpThenFail;

impl Effect for BumpThenFail {
    fn apply<'a>(&'a self, tx: &'a mut Tx<'_>) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        Box::pin(async move {
            CachedBump.apply(tx).await?;
            let Tx::Pg(pg) = tx else {
                return Err(StoreError::Other("a Postgres test".into()));
            };
            pg.execute("SELECT 1 / 0", &[]).await?;
            Ok(Vec::new())
        })
    }
}

fn key(i: usize) -> InboxKey {
    whatsapp_inbox_key(&format!("wamid.POOL{i}"))
}

/// A fresh database with the counter, a private PgBouncer in transaction mode in front of it,
/// and a store through it with the statement cache off; also a store on the database itself.
async fn through_a_pooler() -> (TestDb, PgStore, PrivatePgBouncer, PgStore) {
    statements::set_statement_cache(false);
    let db = TestDb::create_migrated().await;
    let admin = PgStore::connect(db.url()).unwrap();
    admin
        .pool()
        .get()
        .await
        .unwrap()
        .batch_execute(
            "CREATE TABLE pooled_counter (n bigint NOT NULL); INSERT INTO pooled_counter VALUES (0);",
        )
        .await
        .unwrap();
    let bouncer = PrivatePgBouncer::start(&test_database_url());
    let user: tokio_postgres::Config = test_database_url().parse().unwrap();
    let url = bouncer.url(user.get_user().unwrap_or("postgres"), db.name());
    let store = PgStore::connect(&url).unwrap();
    (db, admin, bouncer, store)
}

async fn counter(admin: &PgStore) -> i64 {
    let client = admin.pool().get().await.unwrap();
    client
        .query_one("SELECT n FROM pooled_counter", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_a_transaction_pooler_concurrent_commits_claims_and_sends_keep_their_promises() {
    let (_db, admin, _bouncer, store) = through_a_pooler().await;

    // One person each: one person's replies are claimed one after the other (in order).
    let person = |i: usize| alfred_actors::store::ReplyTarget {
        to: format!("4915100{i:06}"),
        ..target()
    };
    let commits = (0..MESSAGES).map(|i| store.commit(key(i), Box::new(CachedBump), person(i)));
    let first = futures::future::join_all(commits).await;
    let again = (0..MESSAGES).map(|i| store.commit(key(i), Box::new(CachedBump), person(i)));
    let second = futures::future::join_all(again).await;

    let mut ids = Vec::new();
    for outcome in first {
        let Commit::Done(envelopes) = outcome.unwrap() else {
            panic!("a new message is committed");
        };
        assert_eq!(envelopes.len(), 1);
        ids.push(envelopes[0].outbox_id);
    }
    assert!(second
        .into_iter()
        .all(|outcome| matches!(outcome, Ok(Commit::Duplicate))));
    store.mark_published(&ids).await.unwrap();
    let claims = ids.iter().map(|id| store.claim_outbox(*id, LEASE));
    let claimed = futures::future::join_all(claims).await;
    assert!(claimed.iter().all(|claim| matches!(claim, Ok(Some(_)))));
    let sends = ids.iter().map(|id| {
        store.record_send(
            *id,
            SendResult::Sent {
                provider_id: Some(format!("wamid.OUT{id}")),
            },
        )
    });
    for sent in futures::future::join_all(sends).await {
        sent.unwrap();
    }
    let client = admin.pool().get().await.unwrap();
    let counter = counter(&admin).await;
    let sent: i64 = client
        .query_one("SELECT count(*) FROM outbox WHERE state = 'sent'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        counter, MESSAGES as i64,
        "each message's effect applied once"
    );
    assert_eq!(sent, MESSAGES as i64, "each reply recorded as sent");
}

#[tokio::test]
async fn through_a_transaction_pooler_a_failing_message_fails_alone_and_its_batch_commits() {
    let (_db, admin, _bouncer, store) = through_a_pooler().await;

    // Every fifth message fails: its batch is rolled back and runs again with savepoints.
    let fails = |i: usize| i % 5 == 2;
    let commits = (0..MESSAGES).map(|i| {
        let effect: Box<dyn Effect> = if fails(i) {
            Box::new(BumpThenFail)
        } else {
            Box::new(CachedBump)
        };
        store.commit(key(i), effect, target())
    });
    let outcomes = futures::future::join_all(commits).await;

    for (i, outcome) in outcomes.into_iter().enumerate() {
        match outcome {
            Err(_) if fails(i) => {}
            Ok(Commit::Done(envelopes)) if !fails(i) => assert_eq!(envelopes.len(), 1),
            other => panic!("message {i}: {other:?}"),
        }
    }
    let good = (0..MESSAGES).filter(|i| !fails(*i)).count() as i64;
    assert_eq!(counter(&admin).await, good, "failed messages left nothing");
    // The pooler's server connections hold no statement left behind: a redelivery of a failed
    // message, on whichever server connection, commits.
    let again = store.commit(key(2), Box::new(CachedBump), target()).await;
    assert!(matches!(again, Ok(Commit::Done(_))), "{again:?}");
}
