//! The exactly-once store: migrations, commit, group commit, claim, send results, relay.
//!
//! Behaviour tests are written once, generic over `Store`, and run by the testkit's
//! `for_both_stores!` for `PgStore` (`pg::<test>`, a fresh database per test with every
//! migration, on the real Postgres) and for `MemStore` (`mem::<test>`).
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message. (This covers the
// suite's modules under store/ too.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::Actor;
use alfred_actors::bus::{Bus, BusError, ReadFrom, StreamEntry};
use alfred_actors::messages::{OutboundBody, OutboundEnvelope, Platform};
use alfred_actors::metrics::Metrics;
use alfred_actors::relay::{relay_once, OutboxRelay, RelayConfig, RelayNow};
use alfred_actors::skill::{Effect, Reply};
use alfred_actors::store::migrate::{self, Migration};
use alfred_actors::store::{
    ClaimAttempt, Commit, InboxKey, MemStore, PgStore, Purged, ReplyTarget, SendResult, Store,
};
use alfred_actors::store::{StoreError, Tx};
use alfred_testkit::db::TestDb;
use alfred_testkit::stores::Backend;
use alfred_testkit::stores::{whatsapp_inbox_key as key, whatsapp_reply_target as target};
use async_trait::async_trait;
use futures::future::BoxFuture;

const HOUR: Duration = Duration::from_secs(3600);
const NOW: Duration = Duration::ZERO;

/// The counter the test effects bump, in Postgres.
const COUNTER: &str =
    "CREATE TABLE test_counter (n bigint NOT NULL); INSERT INTO test_counter VALUES (0);";

/// A store on a fresh database with every migration and the [`COUNTER`].
async fn pg() -> Backend<PgStore> {
    pg_with(COUNTER).await
}

/// A store on a fresh database with every migration, then `sql` run (the tables a test's
/// effects use).
async fn pg_with(sql: &str) -> Backend<PgStore> {
    let db = TestDb::create_migrated().await;
    let store = PgStore::connect(db.url()).unwrap();
    execute(&store, sql).await;
    Backend::on_postgres(store, db)
}

/// Runs `sql` on one of the store's connections.
async fn execute(store: &PgStore, sql: &str) {
    let client = store.pool().get().await.unwrap();
    client.batch_execute(sql).await.unwrap();
}

/// Increments a counter in the store (a table, or a slot in memory) and answers with the new
/// count, `replies` times; with `fail` it increments and then fails.
struct Bump {
    replies: usize,
    fail: bool,
    gate: Option<Gate>,
}

/// Holds an effect inside its transaction until released (the first time it applies: a store
/// may apply an effect again after rolling an attempt back).
struct Gate {
    entered: tokio::sync::watch::Sender<bool>,
    release: Mutex<Option<tokio::sync::oneshot::Receiver<()>>>,
}

fn bump() -> Box<Bump> {
    Box::new(Bump {
        replies: 1,
        fail: false,
        gate: None,
    })
}

impl Effect for Bump {
    fn apply<'a>(&'a self, tx: &'a mut Tx<'_>) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        Box::pin(async move {
            if let Some(gate) = &self.gate {
                gate.entered.send_replace(true);
                let release = gate.release.lock().unwrap().take();
                if let Some(release) = release {
                    release.await.unwrap();
                }
            }
            let n: i64 = match tx {
                Tx::Pg(tx) => tx
                    .query_one("UPDATE test_counter SET n = n + 1 RETURNING n", &[])
                    .await?
                    .get(0),
                Tx::Mem(tx) => {
                    let n = tx.slot::<i64>("test_counter")?;
                    *n += 1;
                    *n
                }
            };
            if self.fail {
                return Err(StoreError::Other("the effect failed".into()));
            }
            Ok((0..self.replies)
                .map(|_| Reply::text(format!("count is {n}")))
                .collect())
        })
    }
}

/// Increments the counter, then panics (a bug in a skill's effect).
struct Panics;

impl Effect for Panics {
    fn apply<'a>(&'a self, tx: &'a mut Tx<'_>) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        Box::pin(async move {
            match tx {
                Tx::Pg(tx) => {
                    tx.execute("UPDATE test_counter SET n = n + 1", &[]).await?;
                }
                Tx::Mem(tx) => *tx.slot::<i64>("test_counter")? += 1,
            }
            panic!("a bug in the effect");
        })
    }
}

async fn done(store: &impl Store, id: &str, effect: Box<Bump>) -> Vec<OutboundEnvelope> {
    done_to(store, id, &target().to, effect).await
}

/// Like [`done`], answering another recipient (each recipient's replies are sent in order).
async fn done_to(
    store: &impl Store,
    id: &str,
    to: &str,
    effect: Box<Bump>,
) -> Vec<OutboundEnvelope> {
    let target = ReplyTarget {
        to: to.to_owned(),
        ..target()
    };
    match store.commit(key(id), effect, target).await.unwrap() {
        Commit::Done(envelopes) => envelopes,
        Commit::Duplicate => panic!("{id} was taken for a duplicate"),
    }
}

fn text(envelope: &OutboundEnvelope) -> &str {
    match &envelope.body {
        OutboundBody::Text { text } => text,
        other => panic!("not a text: {other:?}"),
    }
}

async fn due_ids(store: &impl Store, grace: Duration, lease: Duration) -> Vec<i64> {
    let due = store.due_for_relay(grace, lease, 100).await.unwrap();
    due.iter().map(|row| row.envelope.outbox_id).collect()
}

/// Behaviours every store shows.
mod behaviour {
    use super::*;

    pub async fn a_commit_stores_its_replies_as_pending_outbox_rows(store: &impl Store) {
        let replies = done(
            store,
            "wamid.1",
            Box::new(Bump {
                replies: 2,
                fail: false,
                gate: None,
            }),
        )
        .await;

        assert_eq!(replies.len(), 2);
        assert_ne!(replies[0].outbox_id, replies[1].outbox_id);
        assert_eq!(text(&replies[0]), "count is 1");
        assert_eq!(
            (replies[0].to.as_str(), replies[0].reply_to.as_deref()),
            ("4915112345678", Some("wamid.in"))
        );
        let ids: Vec<i64> = replies.iter().map(|envelope| envelope.outbox_id).collect();
        assert_eq!(due_ids(store, NOW, HOUR).await, ids);
        assert!(
            due_ids(store, HOUR, HOUR).await.is_empty(),
            "rows within the grace period are the orchestrator's to publish"
        );
    }

    pub async fn a_duplicate_inbox_key_is_neither_applied_nor_answered_again(store: &impl Store) {
        done(store, "wamid.1", bump()).await;

        let again = store
            .commit(key("wamid.1"), bump(), target())
            .await
            .unwrap();

        assert!(matches!(again, Commit::Duplicate));
        assert_eq!(due_ids(store, NOW, HOUR).await.len(), 1);
        assert_eq!(text(&done(store, "wamid.2", bump()).await[0]), "count is 2");
    }

    pub async fn a_failed_effect_leaves_no_inbox_mark_and_no_outbox_row(store: &impl Store) {
        let failed = store
            .commit(
                key("wamid.1"),
                Box::new(Bump {
                    replies: 1,
                    fail: true,
                    gate: None,
                }),
                target(),
            )
            .await;

        assert!(failed.is_err());
        assert!(due_ids(store, NOW, HOUR).await.is_empty());
        let retried = done(store, "wamid.1", bump()).await;
        assert_eq!(
            text(&retried[0]),
            "count is 1",
            "the failed effect's change was rolled back"
        );
    }

    pub async fn a_panicking_effect_fails_only_its_own_message_and_changes_nothing(
        store: &impl Store,
    ) {
        // Committed together, so that in Postgres they can share one group commit.
        let (panicked, fine) = futures::join!(
            store.commit(key("wamid.panic"), Box::new(Panics), target()),
            store.commit(key("wamid.fine"), bump(), target()),
        );

        let Err(error) = panicked else {
            panic!("the panicking message must fail");
        };
        assert!(error.to_string().contains("a bug in the effect"), "{error}");
        assert!(!error.is_unavailable(), "it counts against the message");
        let Commit::Done(replies) = fine.unwrap() else {
            panic!("the other message was taken for a duplicate");
        };
        assert_eq!(
            text(&replies[0]),
            "count is 1",
            "the panic's change was rolled back"
        );
        // Not marked handled: a later delivery is tried again (and dead-lettered in the end).
        let again = store
            .commit(key("wamid.panic"), Box::new(Panics), target())
            .await;
        assert!(again.is_err());
    }

    pub async fn a_redelivery_handled_at_another_time_is_still_a_duplicate(store: &impl Store) {
        let at = |secs: i64| chrono::DateTime::from_timestamp(1_790_000_000 + secs, 0);
        let first = InboxKey {
            person_at: at(0),
            ..key("wamid.1")
        };
        let again = InboxKey {
            person_at: at(90),
            ..key("wamid.1")
        };
        assert!(matches!(
            store.commit(first, bump(), target()).await.unwrap(),
            Commit::Done(_)
        ));
        assert!(matches!(
            store.commit(again, bump(), target()).await.unwrap(),
            Commit::Duplicate
        ));
    }

    pub async fn purge_forgets_old_keys_and_sent_rows_and_keeps_dead_and_in_flight_rows(
        store: &impl Store,
    ) {
        let sent = done(store, "wamid.sent", bump()).await[0].outbox_id;
        let dead = done(store, "wamid.dead", bump()).await[0].outbox_id;
        let pending = done(store, "wamid.pending", bump()).await[0].outbox_id;
        for (id, result) in [
            (sent, SendResult::Sent { provider_id: None }),
            (
                dead,
                SendResult::Dead {
                    reason: "131026: undeliverable".into(),
                },
            ),
        ] {
            store.claim_outbox(id, HOUR).await.unwrap().unwrap();
            store.record_send(id, result).await.unwrap();
        }
        let now = chrono::Utc::now();

        let nothing = store.purge(now - chrono::Duration::hours(1)).await.unwrap();
        assert_eq!(nothing, Purged::default(), "nothing is that old yet");
        let purged = store.purge(now + chrono::Duration::hours(1)).await.unwrap();

        assert_eq!(purged.inbox, 3);
        assert!(purged.outbox <= 1, "only the sent row: {purged:?}");
        assert_eq!(due_ids(store, NOW, NOW).await, [pending], "in flight stays");
        assert!(store.claim_outbox(dead, NOW).await.unwrap().is_none());
        // A forgotten key is a new message again: why RETENTION_DAYS outlasts platform retries.
        assert!(matches!(
            store
                .commit(key("wamid.sent"), bump(), target())
                .await
                .unwrap(),
            Commit::Done(_)
        ));
    }

    pub async fn a_reply_keeps_its_thread_through_the_outbox_and_the_relay(store: &impl Store) {
        let threaded = ReplyTarget {
            thread: Some("1700000100.000200".into()),
            ..target()
        };
        let Commit::Done(replies) = store
            .commit(key("wamid.thread"), bump(), threaded)
            .await
            .unwrap()
        else {
            panic!("a duplicate");
        };
        assert_eq!(replies[0].thread.as_deref(), Some("1700000100.000200"));

        let relayed = store.due_for_relay(NOW, HOUR, 10).await.unwrap();
        assert_eq!(relayed.len(), 1);
        assert_eq!(
            relayed[0].envelope.thread.as_deref(),
            Some("1700000100.000200")
        );
        let claimed = store
            .claim_outbox(replies[0].outbox_id, HOUR)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            claimed.envelope.thread.as_deref(),
            Some("1700000100.000200")
        );
        assert_eq!(claimed.attempts, 1);
    }

    pub async fn a_claimed_row_cannot_be_claimed_again(store: &impl Store) {
        let id = done(store, "wamid.1", bump()).await[0].outbox_id;

        let first = store.claim_outbox(id, HOUR).await.unwrap().unwrap();
        let second = store.claim_outbox(id, HOUR).await.unwrap();

        assert_eq!((first.envelope.outbox_id, first.attempts), (id, 1));
        assert!(second.is_none());
        assert!(
            due_ids(store, NOW, HOUR).await.is_empty(),
            "a row being sent is not relayed"
        );
    }

    pub async fn a_sent_or_dead_row_is_neither_claimed_nor_relayed(store: &impl Store) {
        let sent = done(store, "wamid.1", bump()).await[0].outbox_id;
        let dead = done_to(store, "wamid.2", "4917000000001", bump()).await[0].outbox_id;
        for id in [sent, dead] {
            store.claim_outbox(id, HOUR).await.unwrap().unwrap();
        }

        store
            .record_send(
                sent,
                SendResult::Sent {
                    provider_id: Some("wamid.out".into()),
                },
            )
            .await
            .unwrap();
        store
            .record_send(
                dead,
                SendResult::Dead {
                    reason: "131026: undeliverable".into(),
                },
            )
            .await
            .unwrap();

        for id in [sent, dead] {
            assert!(store.claim_outbox(id, NOW).await.unwrap().is_none());
        }
        assert!(due_ids(store, NOW, NOW).await.is_empty());
    }

    pub async fn a_retry_is_relayed_and_claimable_once_its_time_has_come(store: &impl Store) {
        let due = done(store, "wamid.1", bump()).await[0].outbox_id;
        let later = done_to(store, "wamid.2", "4917000000001", bump()).await[0].outbox_id;
        store.mark_published(&[due, later]).await.unwrap();
        for id in [due, later] {
            store.claim_outbox(id, HOUR).await.unwrap().unwrap();
        }

        let retry = |delay| SendResult::Retry {
            error: "HTTP 500".into(),
            next_attempt_in: delay,
        };
        store.record_send(due, retry(NOW)).await.unwrap();
        store.record_send(later, retry(HOUR)).await.unwrap();

        assert_eq!(due_ids(store, NOW, HOUR).await, vec![due]);
        store.mark_published(&[due]).await.unwrap();
        assert!(
            due_ids(store, NOW, HOUR).await.is_empty(),
            "a due retry is relayed once"
        );
        assert!(
            store.claim_outbox(later, HOUR).await.unwrap().is_none(),
            "not before its time"
        );
        assert_eq!(
            store
                .claim_outbox(due, HOUR)
                .await
                .unwrap()
                .unwrap()
                .attempts,
            2
        );
    }

    pub async fn a_reply_waits_until_the_earlier_reply_to_its_recipient_is_sent(
        store: &impl Store,
    ) {
        let first = done(store, "wamid.1", bump()).await[0].outbox_id;
        let second = done(store, "wamid.2", bump()).await[0].outbox_id;
        let other = done_to(store, "wamid.3", "4917000000001", bump()).await[0].outbox_id;
        store.mark_published(&[first, second, other]).await.unwrap();

        assert!(
            store.claim_outbox(second, HOUR).await.unwrap().is_none(),
            "held: the first reply to the same person is not sent yet"
        );
        assert!(
            store.claim_outbox(other, HOUR).await.unwrap().is_some(),
            "another recipient does not wait"
        );
        assert!(
            due_ids(store, HOUR, HOUR).await.is_empty(),
            "a held row is not relayed while the earlier one is in flight"
        );
        store.claim_outbox(first, HOUR).await.unwrap().unwrap();
        let retry = SendResult::Retry {
            error: "HTTP 429".into(),
            next_attempt_in: NOW,
        };
        assert!(store.record_send(first, retry).await.unwrap().is_empty());
        assert!(
            store.claim_outbox(second, HOUR).await.unwrap().is_none(),
            "a reply waiting for its retry keeps the next one waiting"
        );

        store.claim_outbox(first, HOUR).await.unwrap().unwrap();
        let sent = SendResult::Sent { provider_id: None };
        let released = store.record_send(first, sent).await.unwrap();

        let released: Vec<i64> = released.iter().map(|row| row.outbox_id).collect();
        assert_eq!(released, [second], "sending the first releases the second");
        assert_eq!(
            store
                .claim_outbox(second, HOUR)
                .await
                .unwrap()
                .unwrap()
                .attempts,
            1
        );
    }

    pub async fn a_dead_reply_releases_the_next_and_a_missed_release_is_relayed(
        store: &impl Store,
    ) {
        let first = done(store, "wamid.1", bump()).await[0].outbox_id;
        let second = done(store, "wamid.2", bump()).await[0].outbox_id;
        let third = done(store, "wamid.3", bump()).await[0].outbox_id;
        store.mark_published(&[first, second, third]).await.unwrap();
        store.claim_outbox(first, HOUR).await.unwrap().unwrap();
        assert!(store.claim_outbox(second, HOUR).await.unwrap().is_none());
        assert!(store.claim_outbox(third, HOUR).await.unwrap().is_none());

        let dead = SendResult::Dead {
            reason: "131026: undeliverable".into(),
        };
        let released = store.record_send(first, dead).await.unwrap();

        let released: Vec<i64> = released.iter().map(|row| row.outbox_id).collect();
        assert_eq!(released, [second], "only the next one may go");
        // The sender died before republishing it: the relay does, at once (no grace).
        let due = store.due_for_relay(HOUR, HOUR, 100).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].envelope.outbox_id, second);
        assert!(due[0].held, "due because its release was missed");
        store.mark_republished(&[second]).await.unwrap();
        assert!(due_ids(store, HOUR, HOUR).await.is_empty(), "released once");
        assert!(store.claim_outbox(second, HOUR).await.unwrap().is_some());
        assert!(
            store.claim_outbox(third, HOUR).await.unwrap().is_none(),
            "still behind the second"
        );
    }

    /// The orchestrator marks its replies published after putting them on the stream, so a
    /// sender may read an entry, and hold its row, before the mark: the hold must outlive the
    /// mark, or the row would wait a whole lease for the relay (seen in the chaos suite).
    pub async fn a_hold_outlives_the_late_mark_of_the_entry_that_caused_it(store: &impl Store) {
        let first = done(store, "wamid.1", bump()).await[0].outbox_id;
        let second = done(store, "wamid.2", bump()).await[0].outbox_id;
        let third = done(store, "wamid.3", bump()).await[0].outbox_id;
        store.claim_outbox(first, HOUR).await.unwrap().unwrap();
        assert!(store.claim_outbox(second, HOUR).await.unwrap().is_none());
        assert!(store.claim_outbox(third, HOUR).await.unwrap().is_none());
        store.mark_published(&[first, second, third]).await.unwrap();

        let sent = SendResult::Sent { provider_id: None };
        let released = store.record_send(first, sent).await.unwrap();

        let released: Vec<i64> = released.iter().map(|row| row.outbox_id).collect();
        assert_eq!(released, [second], "the hold outlived the mark");
        // Had the release been missed, the relay would publish the row at once.
        assert_eq!(due_ids(store, HOUR, HOUR).await, [second]);
        store.mark_republished(&[second]).await.unwrap();
        store.claim_outbox(second, HOUR).await.unwrap().unwrap();
        let sent = SendResult::Sent { provider_id: None };
        let released = store.record_send(second, sent).await.unwrap();
        let released: Vec<i64> = released.iter().map(|row| row.outbox_id).collect();
        assert_eq!(released, [third], "the third's hold outlived both marks");
    }

    /// A row the relay publishes (never published: the orchestrator died before its XADD) may
    /// be held by the claim of that very entry, while an earlier reply is in flight; the
    /// relay's mark that follows keeps the hold.
    pub async fn a_relayed_row_held_by_its_claim_is_released_later(store: &impl Store) {
        let first = done(store, "wamid.1", bump()).await[0].outbox_id;
        let second = done(store, "wamid.2", bump()).await[0].outbox_id;
        store.mark_published(&[first]).await.unwrap();
        store.claim_outbox(first, HOUR).await.unwrap().unwrap();

        let due = store.due_for_relay(NOW, HOUR, 100).await.unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].envelope.outbox_id, second);
        assert!(!due[0].held, "never published, not held");
        assert!(store.claim_outbox(second, HOUR).await.unwrap().is_none());
        store.mark_published(&[second]).await.unwrap();

        assert!(
            due_ids(store, HOUR, HOUR).await.is_empty(),
            "held behind the first"
        );
        let sent = SendResult::Sent { provider_id: None };
        let released = store.record_send(first, sent).await.unwrap();
        let released: Vec<i64> = released.iter().map(|row| row.outbox_id).collect();
        assert_eq!(released, [second]);
    }

    /// A claim whose answer was lost (the connection cut after it committed) is its claimer's
    /// to take over with the attempt's token; nobody else's before the lease.
    pub async fn a_claim_whose_answer_was_lost_is_taken_over_by_its_own_next_attempt(
        store: &impl Store,
    ) {
        let id = done(store, "wamid.1", bump()).await[0].outbox_id;
        let lost = ClaimAttempt::new(Vec::new());
        store
            .claim_outbox_as(id, HOUR, &lost)
            .await
            .unwrap()
            .unwrap();

        assert!(store.claim_outbox(id, HOUR).await.unwrap().is_none());
        let stranger = ClaimAttempt::new(vec![lost.token.wrapping_add(1)]);
        assert!(
            store
                .claim_outbox_as(id, HOUR, &stranger)
                .await
                .unwrap()
                .is_none(),
            "another token takes nothing over"
        );
        let retake = ClaimAttempt::new(vec![lost.token]);
        let taken_over = store
            .claim_outbox_as(id, HOUR, &retake)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(taken_over.attempts, 2);
        assert!(
            store
                .claim_outbox_as(id, HOUR, &ClaimAttempt::new(vec![lost.token]))
                .await
                .unwrap()
                .is_none(),
            "the row is claimed under the new token now"
        );
        let sent = SendResult::Sent { provider_id: None };
        store.record_send(id, sent).await.unwrap();
        assert!(
            store
                .claim_outbox_as(id, HOUR, &ClaimAttempt::new(vec![retake.token]))
                .await
                .unwrap()
                .is_none(),
            "a sent row is nobody's"
        );
    }

    pub async fn an_abandoned_claim_is_relayed_and_taken_over(store: &impl Store) {
        let id = done(store, "wamid.1", bump()).await[0].outbox_id;
        store.claim_outbox(id, NOW).await.unwrap().unwrap();

        assert_eq!(due_ids(store, HOUR, NOW).await, vec![id]);
        let taken_over = store.claim_outbox(id, NOW).await.unwrap().unwrap();

        assert_eq!(taken_over.attempts, 2);
    }

    pub async fn a_published_row_is_not_relayed_again_within_the_lease(store: &impl Store) {
        let id = done(store, "wamid.1", bump()).await[0].outbox_id;

        store.mark_published(&[id]).await.unwrap();

        assert!(due_ids(store, NOW, HOUR).await.is_empty());
        assert_eq!(
            due_ids(store, NOW, NOW).await,
            vec![id],
            "unclaimed after the lease: the entry was lost"
        );
    }

    /// Two commits of one key at once (`wait_until_blocked` returns once the second waits for
    /// the first): exactly one applies.
    pub async fn two_concurrent_commits_of_one_key_apply_once(
        store: &impl Store,
        wait_until_blocked: impl Future<Output = ()>,
    ) {
        let (entered, mut entered_rx) = tokio::sync::watch::channel(false);
        let (release, release_rx) = tokio::sync::oneshot::channel();
        let gated = Box::new(Bump {
            replies: 1,
            fail: false,
            gate: Some(Gate {
                entered,
                release: Mutex::new(Some(release_rx)),
            }),
        });
        let mut second_entered = entered_rx.clone();

        let (first, second, ()) = tokio::join!(
            store.commit(key("wamid.1"), gated, target()),
            async {
                second_entered.wait_for(|inside| *inside).await.unwrap();
                store.commit(key("wamid.1"), bump(), target()).await
            },
            async {
                entered_rx.wait_for(|inside| *inside).await.unwrap();
                wait_until_blocked.await;
                release.send(()).unwrap();
            }
        );

        assert!(matches!(first.unwrap(), Commit::Done(_)));
        assert!(matches!(second.unwrap(), Commit::Duplicate));
        assert_eq!(due_ids(store, NOW, HOUR).await.len(), 1);
        assert_eq!(text(&done(store, "wamid.2", bump()).await[0]), "count is 2");
    }

    pub async fn an_effect_sees_when_a_person_last_wrote_and_can_write_to_a_direct_chat(
        store: &impl Store,
    ) {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-26T06:30:00Z")
            .unwrap()
            .to_utc();
        let person = InboxKey {
            person_at: Some(at),
            ..key("wamid.person")
        };
        store.commit(person, bump(), target()).await.unwrap();

        let job = InboxKey {
            person_at: None,
            ..key("job:briefing:home:2026-11-27")
        };
        let committed = store
            .commit(job, Box::new(ReadActivity), target())
            .await
            .unwrap();

        let Commit::Done(replies) = committed else {
            panic!("the job was taken for a duplicate")
        };
        assert_eq!(
            text(&replies[0]),
            "last message from a person: 2026-11-26T06:30:00+00:00"
        );
        assert_eq!(
            replies[0].to, "4915112345678",
            "the conversation, quoting its message"
        );
        assert_eq!(replies[0].reply_to.as_deref(), Some("wamid.in"));
        assert_eq!(
            replies[1].to, "4917000000000",
            "someone's direct chat, quoting nothing"
        );
        assert_eq!(replies[1].reply_to, None);
    }
}

/// Answers with when a person last wrote in the target conversation, and writes to another
/// chat directly.
struct ReadActivity;

impl Effect for ReadActivity {
    fn apply<'a>(&'a self, tx: &'a mut Tx<'_>) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        Box::pin(async move {
            let last = tx
                .last_message_from_person(Platform::WhatsApp, "4915112345678")
                .await?;
            let last = last.map(|at| at.to_rfc3339()).unwrap_or_default();
            Ok(vec![
                Reply::text(format!("last message from a person: {last}")),
                Reply {
                    to: alfred_actors::skill::ReplyTo::Direct("4917000000000".into()),
                    body: alfred_actors::messages::OutboundBody::Text {
                        text: "psst".into(),
                    },
                },
            ])
        })
    }
}

alfred_testkit::for_both_stores! {
    in_memory: Backend::in_memory(MemStore::new()),
    on_postgres: pg().await,
    scenarios: behaviour::[
        a_commit_stores_its_replies_as_pending_outbox_rows,
        a_duplicate_inbox_key_is_neither_applied_nor_answered_again,
        a_failed_effect_leaves_no_inbox_mark_and_no_outbox_row,
        a_panicking_effect_fails_only_its_own_message_and_changes_nothing,
        a_redelivery_handled_at_another_time_is_still_a_duplicate,
        a_reply_keeps_its_thread_through_the_outbox_and_the_relay,
        purge_forgets_old_keys_and_sent_rows_and_keeps_dead_and_in_flight_rows,
        a_claimed_row_cannot_be_claimed_again,
        a_sent_or_dead_row_is_neither_claimed_nor_relayed,
        a_retry_is_relayed_and_claimable_once_its_time_has_come,
        a_reply_waits_until_the_earlier_reply_to_its_recipient_is_sent,
        a_dead_reply_releases_the_next_and_a_missed_release_is_relayed,
        a_hold_outlives_the_late_mark_of_the_entry_that_caused_it,
        a_relayed_row_held_by_its_claim_is_released_later,
        a_claim_whose_answer_was_lost_is_taken_over_by_its_own_next_attempt,
        an_abandoned_claim_is_relayed_and_taken_over,
        a_published_row_is_not_relayed_again_within_the_lease,
        an_effect_sees_when_a_person_last_wrote_and_can_write_to_a_direct_chat,
    ],
}

#[tokio::test]
async fn two_concurrent_commits_of_one_key_apply_once_in_memory() {
    // The second commit waits on the store's mutex; nothing to observe, so release at once.
    behaviour::two_concurrent_commits_of_one_key_apply_once(&MemStore::new(), async {}).await;
}

/// Postgres only: migrations, the rows as stored, concurrency on the real database.
#[path = "store/postgres.rs"]
mod postgres;

/// The relay actor on both stores.
#[path = "store/relay.rs"]
mod relay;

/// Postgres outages on a private cluster.
#[path = "store/outage.rs"]
mod outage;

/// Group commit in `PgStore`.
#[path = "store/group_commit.rs"]
mod group_commit;

/// The plans of the store's hot statements.
#[path = "store/plans.rs"]
mod plans;
