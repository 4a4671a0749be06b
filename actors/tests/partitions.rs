//! Partitioned ingest (`INGEST_PARTITIONS`): leases with fencing tokens, replica heartbeats and
//! the take-over of pending entries on the real Redis; the fence in the real Postgres, refusing
//! a stale owner's commit directly at the store.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, Context, Handler};

use alfred_actors::bus::{Bus, ReadFrom};
use alfred_actors::messages::Platform;
use alfred_actors::metrics::Metrics;
use alfred_actors::names;
use alfred_actors::skill::ReplyOnly;
use alfred_actors::store::{Commit, Fence, InboxKey, PgStore, Store, StoreError};
use alfred_actors::stream_reader::{
    Delivery, DeliveryError, Ownership, ReaderConfig, StreamReader,
};
use alfred_testkit::buses::{grouped_stream, redis_bus};
use alfred_testkit::db::TestDb;
use alfred_testkit::redis::unique_prefix;
use alfred_testkit::stores::whatsapp_reply_target as target;
use tokio::time::Instant;

const LONG: Duration = Duration::from_secs(60);
/// How long a test's fence raise waits for commits in flight under an older token.
const WAIT: Duration = Duration::from_secs(5);
const GROUP: &str = "group";

/// The lease and counter keys of partition 3 under a fresh prefix.
fn lease_keys() -> (String, String) {
    let prefix = unique_prefix();
    (
        names::ingest_lease_key(&prefix, 3),
        names::ingest_fence_key(&prefix, 3),
    )
}

/// Polls `acquire` for `owner` until it holds the lease (deadline 10 s); returns its token.
async fn acquire_eventually(bus: &dyn Bus, lease: &str, counter: &str, owner: &str) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(token) = bus
            .acquire_lease(lease, counter, owner, LONG)
            .await
            .unwrap()
        {
            return token;
        }
        assert!(Instant::now() < deadline, "{owner} never acquired {lease}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_lease_has_one_holder_and_its_token_grows_with_every_acquisition() {
    let bus = redis_bus();
    let (lease, counter) = lease_keys();

    let first = bus
        .acquire_lease(&lease, &counter, "a", LONG)
        .await
        .unwrap();
    let again = bus
        .acquire_lease(&lease, &counter, "a", LONG)
        .await
        .unwrap();
    let other = bus
        .acquire_lease(&lease, &counter, "b", LONG)
        .await
        .unwrap();

    assert_eq!(first, Some(1));
    assert_eq!(again, first, "re-acquiring one's own lease keeps its token");
    assert_eq!(other, None, "a held lease is not given to another owner");

    assert!(bus.release_lease(&lease, "a", 1).await.unwrap());
    let next = bus
        .acquire_lease(&lease, &counter, "b", LONG)
        .await
        .unwrap();
    assert_eq!(next, Some(2));
    assert!(
        !bus.release_lease(&lease, "a", 1).await.unwrap(),
        "a former holder cannot release its successor's lease"
    );
    assert!(!bus.renew_lease(&lease, "a", 1, LONG).await.unwrap());
    assert!(bus.renew_lease(&lease, "b", 2, LONG).await.unwrap());
}

#[tokio::test]
async fn an_expired_lease_goes_to_the_next_owner_with_a_greater_token_and_cannot_be_renewed() {
    let bus = redis_bus();
    let (lease, counter) = lease_keys();
    let short = Duration::from_millis(300);
    let first = bus
        .acquire_lease(&lease, &counter, "a", short)
        .await
        .unwrap()
        .unwrap();

    // Once "a" stops renewing, its lease expires and "b" gets it.
    let second = acquire_eventually(&*bus, &lease, &counter, "b").await;

    assert!(second > first, "{second} after {first}");
    assert!(!bus.renew_lease(&lease, "a", first, LONG).await.unwrap());
    assert_eq!(
        bus.acquire_lease(&lease, &counter, "a", LONG)
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn a_renewed_lease_outlives_its_first_ttl() {
    let bus = redis_bus();
    let (lease, counter) = lease_keys();
    // Long against the renewal interval, so a loaded box stalling this test for a while does
    // not let the lease lapse between two renewals.
    let ttl = Duration::from_secs(3);
    let token = bus
        .acquire_lease(&lease, &counter, "a", ttl)
        .await
        .unwrap()
        .unwrap();

    // Renewed every 100 ms for two and a half TTLs: never free for "b".
    let until = Instant::now() + ttl * 5 / 2;
    while Instant::now() < until {
        assert!(bus.renew_lease(&lease, "a", token, ttl).await.unwrap());
        assert_eq!(
            bus.acquire_lease(&lease, &counter, "b", ttl).await.unwrap(),
            None
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_heartbeat_lists_live_replicas_and_forgets_silent_ones() {
    let bus = redis_bus();
    let members = names::key(&unique_prefix(), names::INGEST_REPLICAS);
    let ttl = Duration::from_millis(500);

    bus.heartbeat(&members, "a", ttl).await.unwrap();
    let both = bus.heartbeat(&members, "b", ttl).await.unwrap();
    assert_eq!(both, vec!["a".to_owned(), "b".to_owned()]);

    // "a" falls silent: "b" stops seeing it once its heartbeat is older than the TTL.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let live = bus.heartbeat(&members, "b", ttl).await.unwrap();
        if live == vec!["b".to_owned()] {
            break;
        }
        assert!(Instant::now() < deadline, "a is still listed: {live:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bus.leave(&members, "b").await.unwrap();
    assert_eq!(
        bus.heartbeat(&members, "c", ttl).await.unwrap(),
        vec!["c".to_owned()]
    );
}

#[tokio::test]
async fn a_new_owner_takes_over_every_pending_entry_whatever_its_idle_time_in_order() {
    let bus = redis_bus();
    let stream = grouped_stream(&*bus, GROUP).await;
    for i in 0..5 {
        bus.publish(&stream, &format!("m{i}")).await.unwrap();
    }
    let read = bus
        .read(&stream, GROUP, "old", ReadFrom::New, 10, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(read.len(), 5);
    // The old owner read them twice (after a restart, say): two deliveries each.
    let again = bus
        .read(&stream, GROUP, "old", ReadFrom::Pending, 10, Duration::ZERO)
        .await
        .unwrap();
    assert!(again.iter().all(|entry| entry.deliveries == 2));

    let taken = bus.take_over_pending(&stream, GROUP, "new").await.unwrap();

    assert_eq!(taken, 5);
    let pending = bus
        .read(&stream, GROUP, "new", ReadFrom::Pending, 10, Duration::ZERO)
        .await
        .unwrap();
    let payloads: Vec<&str> = pending.iter().map(|e| e.payload.as_str()).collect();
    assert_eq!(payloads, ["m0", "m1", "m2", "m3", "m4"]);
    // A move counts no delivery, not even the new owner's re-read of its pending list: an
    // entry moved INGEST_MAX_DELIVERIES times is never dead-lettered for it.
    assert!(
        pending.iter().all(|entry| entry.deliveries == 2),
        "{pending:?}"
    );
    let later = bus
        .read(&stream, GROUP, "new", ReadFrom::Pending, 10, Duration::ZERO)
        .await
        .unwrap();
    assert!(
        later.iter().all(|entry| entry.deliveries == 3),
        "the new owner's own deliveries still count: {later:?}"
    );
    let old = bus
        .read(&stream, GROUP, "old", ReadFrom::Pending, 10, Duration::ZERO)
        .await
        .unwrap();
    assert!(old.is_empty());
}

fn key(id: &str, fence: Fence) -> InboxKey {
    InboxKey {
        platform: Platform::WhatsApp,
        message_id: id.to_owned(),
        person_at: None,
        fence: Some(fence),
    }
}

fn reply() -> Box<ReplyOnly> {
    Box::new(ReplyOnly(vec!["ok".to_owned()]))
}

#[tokio::test]
async fn a_commit_under_a_stale_fencing_token_is_refused_and_leaves_nothing() {
    let db = TestDb::create_migrated().await;
    let store = PgStore::connect(db.url()).unwrap();
    let old = Fence {
        partition: 3,
        token: 7,
    };
    let new = Fence {
        partition: 3,
        token: 8,
    };
    store.advance_fence(old, WAIT).await.unwrap();
    let before = store.commit(key("wamid.1", old), reply(), target()).await;
    assert!(matches!(before, Ok(Commit::Done(_))), "{before:?}");

    // The partition moves on: its new owner raises the fence.
    store.advance_fence(new, WAIT).await.unwrap();
    let stale = store.commit(key("wamid.2", old), reply(), target()).await;

    assert!(
        matches!(
            stale,
            Err(StoreError::Fenced {
                partition: 3,
                token: 7,
                latest: 8
            })
        ),
        "{stale:?}"
    );
    // Nothing of it was kept: the new owner's commit of the same message is not a duplicate.
    let owner = store.commit(key("wamid.2", new), reply(), target()).await;
    assert!(
        matches!(owner, Ok(Commit::Done(ref rows)) if rows.len() == 1),
        "{owner:?}"
    );
    // Other partitions are not fenced by it.
    let elsewhere = Fence {
        partition: 4,
        token: 1,
    };
    let other = store
        .commit(key("wamid.3", elsewhere), reply(), target())
        .await;
    assert!(matches!(other, Ok(Commit::Done(_))), "{other:?}");
    db.drop().await;
}

fn fence_of(partition: u32, token: u64) -> Fence {
    Fence { partition, token }
}

/// A store on a fresh database whose partition `fence.partition` is fenced at `fence.token`.
async fn fenced_store(fence: Fence) -> (TestDb, PgStore) {
    let db = TestDb::create_migrated().await;
    let store = PgStore::connect(db.url()).unwrap();
    store.advance_fence(fence, WAIT).await.unwrap();
    (db, store)
}

#[tokio::test]
async fn the_fence_never_goes_back() {
    let fence = |token| fence_of(0, token);
    let (db, store) = fenced_store(fence(5)).await;

    // A late advance with an older token (a slow former owner) does not lower it.
    store.advance_fence(fence(3), WAIT).await.unwrap();

    let refused = store
        .commit(key("wamid.1", fence(4)), reply(), target())
        .await;
    assert!(
        matches!(refused, Err(StoreError::Fenced { latest: 5, .. })),
        "{refused:?}"
    );
    let allowed = store
        .commit(key("wamid.1", fence(5)), reply(), target())
        .await;
    assert!(matches!(allowed, Ok(Commit::Done(_))), "{allowed:?}");
    db.drop().await;
}

/// Answers every delivery `Fenced`, as the orchestrator does when the commit is refused;
/// counts them and remembers the fences they carried.
struct Fenced {
    deliveries: Arc<AtomicUsize>,
    fences: Arc<std::sync::Mutex<Vec<Option<Fence>>>>,
}

impl Actor for Fenced {
    type Context = Context<Self>;
}

impl Handler<Delivery> for Fenced {
    type Result = Result<(), DeliveryError>;

    fn handle(&mut self, delivery: Delivery, _: &mut Context<Self>) -> Self::Result {
        self.deliveries.fetch_add(1, Ordering::SeqCst);
        self.fences.lock().unwrap().push(delivery.fence);
        Err(DeliveryError::Fenced("the partition moved".to_owned()))
    }
}

#[actix_rt::test]
async fn a_fenced_delivery_is_left_pending_uncounted_for_the_new_owner_and_its_reader_gives_up_the_partition(
) {
    let bus = redis_bus();
    let prefix = unique_prefix();
    let stream = names::ingest_partition_stream(&prefix, 0);
    let fence = Fence {
        partition: 0,
        token: 1,
    };
    let ownership = Ownership::new(fence, std::time::Instant::now() + LONG);
    let config = ReaderConfig {
        bus: bus.clone(),
        stream: stream.clone(),
        group: GROUP.to_owned(),
        consumer: "old-p0".to_owned(),
        dead_stream: format!("{prefix}dead"),
        batch: 10,
        block: Duration::from_millis(100),
        claim_idle: Duration::from_millis(200),
        max_deliveries: 1,
        metrics: Metrics::new().unwrap(),
        pause_key: None,
        lease: Some(ownership.clone()),
    };
    bus.ensure_group(&stream, GROUP).await.unwrap();
    bus.publish(&stream, "m0").await.unwrap();
    let deliveries = Arc::new(AtomicUsize::new(0));
    let fences = Arc::default();
    let handler = Fenced {
        deliveries: deliveries.clone(),
        fences: Arc::clone(&fences),
    }
    .start();
    let _reader = StreamReader::new(config, handler.recipient()).start();

    let deadline = Instant::now() + Duration::from_secs(20);
    while ownership.is_held() {
        assert!(
            Instant::now() < deadline,
            "the reader never gave the partition up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    assert_eq!(deliveries.load(Ordering::SeqCst), 1);
    assert_eq!(
        *fences.lock().unwrap(),
        vec![Some(fence)],
        "delivered with its fence"
    );
    // Its last delivery (max_deliveries 1), yet neither dead-lettered nor acknowledged: it is
    // still pending, and the new owner takes it over.
    assert_eq!(bus.len(&format!("{prefix}dead")).await.unwrap(), 0);
    assert_eq!(
        bus.take_over_pending(&stream, GROUP, "new-p0")
            .await
            .unwrap(),
        1
    );
    let pending = bus
        .read(
            &stream,
            GROUP,
            "new-p0",
            ReadFrom::Pending,
            10,
            Duration::ZERO,
        )
        .await
        .unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].payload, "m0");
}

#[tokio::test]
async fn a_stale_message_among_concurrent_commits_is_refused_alone() {
    let fence = |token| fence_of(1, token);
    let (db, store) = fenced_store(fence(2)).await;

    // Committed at once, so that the group commit takes them into one batch when it can.
    let commits = (0..8).map(|i| {
        let token = if i == 3 { 1 } else { 2 };
        store.commit(key(&format!("wamid.{i}"), fence(token)), reply(), target())
    });
    let outcomes = futures::future::join_all(commits).await;

    for (i, outcome) in outcomes.iter().enumerate() {
        if i == 3 {
            assert!(
                matches!(
                    outcome,
                    Err(StoreError::Fenced {
                        token: 1,
                        latest: 2,
                        ..
                    })
                ),
                "{outcome:?}"
            );
        } else {
            assert!(matches!(outcome, Ok(Commit::Done(_))), "{i}: {outcome:?}");
        }
    }
    db.drop().await;
}

#[tokio::test]
async fn a_former_owner_cannot_take_back_held_entries_once_its_lease_moved() {
    let bus = redis_bus();
    let stream = grouped_stream(&*bus, GROUP).await;
    let (lease, counter) = lease_keys();
    bus.publish(&stream, "m0").await.unwrap();
    let old_token = acquire_eventually(&*bus, &lease, &counter, "old").await;
    let read = bus
        .read(&stream, GROUP, "old-p3", ReadFrom::New, 10, Duration::ZERO)
        .await
        .unwrap();
    let ids = vec![read[0].id.clone()];
    // The old owner pauses past its lease; the new one acquires it and takes the entry over.
    bus.release_lease(&lease, "old", old_token).await.unwrap();
    let new_token = acquire_eventually(&*bus, &lease, &counter, "new").await;
    bus.take_over_pending(&stream, GROUP, "new-p3")
        .await
        .unwrap();

    // The old owner wakes and keeps its held entry alive, as its reader does every round.
    let stale = bus
        .keep_pending_while_held(
            &stream,
            GROUP,
            "old-p3",
            &ids,
            &lease,
            &format!("old {old_token}"),
        )
        .await
        .unwrap();
    let current = bus
        .keep_pending_while_held(
            &stream,
            GROUP,
            "new-p3",
            &ids,
            &lease,
            &format!("new {new_token}"),
        )
        .await
        .unwrap();

    assert!(!stale, "the former owner's keep-alive is refused");
    assert!(current, "the owner's keep-alive is done");
    let old = bus
        .read(
            &stream,
            GROUP,
            "old-p3",
            ReadFrom::Pending,
            10,
            Duration::ZERO,
        )
        .await
        .unwrap();
    assert!(old.is_empty(), "nothing went back to the former owner");
    let new = bus
        .read(
            &stream,
            GROUP,
            "new-p3",
            ReadFrom::Pending,
            10,
            Duration::ZERO,
        )
        .await
        .unwrap();
    assert_eq!(new.len(), 1);
    assert_eq!(
        new[0].deliveries, 1,
        "neither the move nor the keep-alive counted a delivery"
    );
}

/// An effect that, inside its commit's transaction, says so and then waits to be resumed: a
/// replica paused (SIGSTOP) in the middle of a group commit, its connection idle in a
/// transaction that share-locks its partition's fence row.
struct PausedInside {
    inside: Arc<tokio::sync::Notify>,
    resume: Arc<tokio::sync::Notify>,
}

impl alfred_actors::skill::Effect for PausedInside {
    fn apply<'a>(
        &'a self,
        _tx: &'a mut alfred_actors::store::Tx<'_>,
    ) -> futures::future::BoxFuture<'a, Result<Vec<alfred_actors::skill::Reply>, StoreError>> {
        Box::pin(async move {
            self.inside.notify_one();
            self.resume.notified().await;
            Ok(vec![alfred_actors::skill::Reply::text("late".to_owned())])
        })
    }
}

/// A replica paused inside a commit must not hold its partition back for as long as it is
/// paused: the server ends its transaction once it has been idle for the commit's limit, which
/// releases the fence row, and the new owner's raise goes through; the paused commit, resumed,
/// commits nothing, and the new owner's commit of the same message is not a duplicate.
#[tokio::test]
async fn a_commit_paused_inside_its_transaction_does_not_hold_the_fence_back() {
    let fence = |token| fence_of(0, token);
    let (db, store) = fenced_store(fence(5)).await;
    let inside = Arc::new(tokio::sync::Notify::new());
    let resume = Arc::new(tokio::sync::Notify::new());
    let paused = tokio::spawn({
        let store = store.clone();
        let effect = Box::new(PausedInside {
            inside: inside.clone(),
            resume: resume.clone(),
        });
        async move {
            store
                .commit(key("wamid.1", fence(5)), effect, target())
                .await
        }
    });
    inside.notified().await;

    // The new owner raises the fence: each try waits a little, fails while the paused commit
    // holds the row, and goes through once the server has ended that transaction.
    let deadline = Instant::now() + LONG;
    loop {
        match store
            .advance_fence(fence(6), Duration::from_millis(200))
            .await
        {
            Ok(()) => break,
            Err(error) => assert!(
                Instant::now() < deadline,
                "the fence could not be raised past a paused commit: {error}"
            ),
        }
    }
    resume.notify_one();
    let late = paused.await.unwrap();
    assert!(!matches!(late, Ok(Commit::Done(_))), "{late:?}");

    let owner = store
        .commit(key("wamid.1", fence(6)), reply(), target())
        .await;
    assert!(
        matches!(owner, Ok(Commit::Done(ref rows)) if rows.len() == 1),
        "{owner:?}"
    );
    db.drop().await;
}

/// The new owner's raise never waits longer than it asked while a commit under the old token
/// holds the fence row (here a session that keeps it share-locked and never goes idle-limited):
/// it fails with a clear error, so its caller gives the lease back and renews the others, and
/// it goes through once that commit ends.
#[tokio::test]
async fn a_fence_raise_waits_only_as_long_as_asked_for_a_commit_in_flight() {
    let fence = |token| fence_of(2, token);
    let (db, store) = fenced_store(fence(1)).await;
    let (holder, connection) = tokio_postgres::connect(db.url(), tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    holder
        .batch_execute(
            "BEGIN; SELECT token FROM ingest_partition_fences WHERE partition = 2 FOR SHARE",
        )
        .await
        .unwrap();

    let held = store
        .advance_fence(fence(2), Duration::from_millis(100))
        .await;
    let Err(StoreError::Other(message)) = held else {
        panic!("a raise past a held fence row: {held:?}");
    };
    assert!(
        message.contains("ingest partition 2") && message.contains("did not end within 100 ms"),
        "{message}"
    );

    holder.batch_execute("COMMIT").await.unwrap();
    store
        .advance_fence(fence(2), Duration::from_millis(100))
        .await
        .unwrap();
    let stale = store
        .commit(key("wamid.9", fence(1)), reply(), target())
        .await;
    assert!(
        matches!(stale, Err(StoreError::Fenced { latest: 2, .. })),
        "{stale:?}"
    );
    db.drop().await;
}
