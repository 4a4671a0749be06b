//! Group commit in `PgStore`: concurrent commits share one transaction — set-based, or, when a
//! message of the batch failed, again with each message inside its own savepoint — and keep
//! exactly the outcome they would have had alone.

use alfred_actors::messages::OutboundBody;
use alfred_actors::skill::{Batched, EffectBatch};

use super::*;

/// The table the effects of these tests record into.
const APPLIED: &str = "CREATE TABLE test_applied (message text NOT NULL, xid bigint NOT NULL)";

/// [`target`], quoting message `id`.
fn quoting(id: &str) -> ReplyTarget {
    ReplyTarget {
        reply_to: Some(id.to_owned()),
        ..target()
    }
}

/// Records its message and the id of the (top-level) transaction it ran in; with `fail` it
/// records and then fails, or runs a statement that errors (aborting the transaction).
struct Record {
    message: String,
    failure: Option<Failure>,
}

#[derive(Clone, Copy)]
enum Failure {
    /// The effect returns an error; the transaction is still usable.
    Returns,
    /// A statement fails inside Postgres; the transaction is aborted up to the savepoint.
    Statement,
}

impl Effect for Record {
    fn apply<'a>(&'a self, tx: &'a mut Tx<'_>) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        Box::pin(async move {
            let Tx::Pg(tx) = tx else {
                panic!("these tests run on Postgres");
            };
            tx.execute(
                "INSERT INTO test_applied VALUES ($1, txid_current())",
                &[&self.message],
            )
            .await?;
            match self.failure {
                None => Ok(vec![Reply::text(format!("done {}", self.message))]),
                Some(Failure::Returns) => Err(StoreError::Other("the effect failed".into())),
                Some(Failure::Statement) => {
                    tx.execute("SELECT 1 / 0", &[]).await?;
                    Ok(vec![Reply::text("unreachable")])
                }
            }
        })
    }
}

fn record(message: &str, failure: Option<Failure>) -> Box<Record> {
    Box::new(Record {
        message: message.to_owned(),
        failure,
    })
}

async fn count(store: &PgStore, sql: &str) -> i64 {
    let client = store.pool().get().await.unwrap();
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn concurrent_commits_share_transactions_and_a_failing_message_takes_down_none_of_the_others()
{
    let store = pg_with(APPLIED).await;
    let earlier = match store
        .commit(key("wamid.earlier"), record("earlier", None), quoting("x"))
        .await
        .unwrap()
    {
        Commit::Done(replies) => replies,
        Commit::Duplicate => panic!("a new key was taken for a duplicate"),
    };
    assert_eq!(earlier.len(), 1);

    // Issued together, so they are queued before any batch runs: 60 messages, every fifth
    // failing one way or the other, a redelivery of an earlier message, and one key twice.
    let mut ids: Vec<String> = (0..60).map(|n| format!("wamid.{n}")).collect();
    ids.push("wamid.earlier".into());
    ids.push("wamid.7".into());
    let failure = |n: usize| match n % 10 {
        4 => Some(Failure::Returns),
        9 => Some(Failure::Statement),
        _ => None,
    };
    let commits = ids.iter().enumerate().map(|(n, id)| {
        let effect = record(id, if n < 60 { failure(n) } else { None });
        store.commit(key(id), effect, quoting(id))
    });
    let outcomes = futures::future::join_all(commits).await;

    for (n, outcome) in outcomes.iter().enumerate().take(60) {
        match (failure(n), outcome) {
            (Some(_), Err(_)) => {}
            (None, Ok(Commit::Done(replies))) => {
                assert_eq!(replies.len(), 1);
                assert_eq!(replies[0].reply_to.as_deref(), Some(ids[n].as_str()));
                assert_eq!(
                    replies[0].body,
                    OutboundBody::Text {
                        text: format!("done {}", ids[n])
                    }
                );
            }
            (expected, outcome) => panic!(
                "message {n}: expected failure {:?}, got {outcome:?}",
                expected.is_some()
            ),
        }
    }
    assert!(matches!(outcomes[60], Ok(Commit::Duplicate)));
    assert!(
        matches!(outcomes[61], Ok(Commit::Duplicate)),
        "the second copy of a key in one batch is a duplicate"
    );

    let succeeded = 1 + 60 - 12;
    assert_eq!(count(&store, "SELECT count(*) FROM inbox").await, succeeded);
    assert_eq!(
        count(&store, "SELECT count(*) FROM outbox").await,
        succeeded
    );
    assert_eq!(
        count(&store, "SELECT count(*) FROM test_applied").await,
        succeeded,
        "failed messages left nothing behind"
    );
    let transactions = count(
        &store,
        "SELECT count(DISTINCT xid) FROM test_applied WHERE message <> 'wamid.earlier'",
    )
    .await;
    assert!(
        transactions < succeeded - 1,
        "{} messages were committed in {transactions} transactions",
        succeeded - 1
    );
}

#[tokio::test]
async fn a_failed_message_can_be_committed_again_later() {
    let store = pg_with(APPLIED).await;
    let failed = store
        .commit(
            key("wamid.1"),
            record("wamid.1", Some(Failure::Statement)),
            quoting("wamid.1"),
        )
        .await;
    assert!(failed.is_err());

    let retried = store
        .commit(key("wamid.1"), record("wamid.1", None), quoting("wamid.1"))
        .await
        .unwrap();

    assert!(matches!(retried, Commit::Done(replies) if replies.len() == 1));
    assert_eq!(count(&store, "SELECT count(*) FROM test_applied").await, 1);
}

#[tokio::test]
async fn marking_rows_published_does_not_wait_for_a_row_another_session_holds() {
    let store = pg_with(APPLIED).await;
    let mut ids = Vec::new();
    for n in 0..2 {
        let id = format!("wamid.{n}");
        match store
            .commit(key(&id), record(&id, None), quoting(&id))
            .await
            .unwrap()
        {
            Commit::Done(replies) => ids.push(replies[0].outbox_id),
            Commit::Duplicate => panic!("a new key was taken for a duplicate"),
        }
    }
    let mut holder = store.pool().get().await.unwrap();
    let holding = holder.transaction().await.unwrap();
    holding
        .execute("SELECT 1 FROM outbox WHERE id = $1 FOR UPDATE", &[&ids[0]])
        .await
        .unwrap();

    // Waiting for the lock would hang until the holder commits, which it does only after.
    tokio::time::timeout(Duration::from_secs(30), store.mark_published(&ids))
        .await
        .expect("mark_published waited for a locked row")
        .unwrap();
    holding.commit().await.unwrap();

    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM outbox WHERE published_at IS NOT NULL"
        )
        .await,
        1,
        "the free row was marked, the held one skipped"
    );
}

// ---- The set-based mode and its fallback to savepoints ----

/// How a [`Probe`] fails.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Fails {
    Never,
    /// Returns an error every time it applies.
    Returns,
    /// Runs a statement that errors, every time.
    Statement,
    /// Panics every time.
    Panics,
    /// Returns an error the first time it applies only (a transient failure).
    FirstTime,
}

/// Records its message and transaction like [`Record`], after taking the advisory locks
/// `locks` in order (first waiting at `gate`, if any), and answers `replies` times. Counts how
/// often it was applied and reported committed.
struct Probe {
    message: String,
    replies: usize,
    fails: Fails,
    locks: Vec<i64>,
    gate: Option<Gate>,
    applied: AtomicUsize,
    committed: AtomicUsize,
}

impl Probe {
    fn new(message: &str, fails: Fails) -> Arc<Probe> {
        Probe::with(message, 1, fails, Vec::new(), None)
    }

    fn with(
        message: &str,
        replies: usize,
        fails: Fails,
        locks: Vec<i64>,
        gate: Option<Gate>,
    ) -> Arc<Probe> {
        Arc::new(Probe {
            message: message.to_owned(),
            replies,
            fails,
            locks,
            gate,
            applied: AtomicUsize::new(0),
            committed: AtomicUsize::new(0),
        })
    }

    fn applied(&self) -> usize {
        self.applied.load(Ordering::SeqCst)
    }

    fn committed(&self) -> usize {
        self.committed.load(Ordering::SeqCst)
    }
}

/// A [`Probe`] shared with the test, which reads its counts after the commit.
struct Shared(Arc<Probe>);

impl Effect for Shared {
    fn apply<'a>(&'a self, tx: &'a mut Tx<'_>) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        let probe = &self.0;
        Box::pin(async move {
            let first = probe.applied.fetch_add(1, Ordering::SeqCst) == 0;
            let Tx::Pg(tx) = tx else {
                panic!("these tests run on Postgres");
            };
            for (i, lock) in probe.locks.iter().enumerate() {
                tx.execute("SELECT pg_advisory_xact_lock($1)", &[lock])
                    .await?;
                if let (0, Some(gate)) = (i, &probe.gate) {
                    gate.entered.send_replace(true);
                    let release = gate.release.lock().unwrap().take();
                    if let Some(release) = release {
                        release.await.unwrap();
                    }
                }
            }
            tx.execute(
                "INSERT INTO test_applied VALUES ($1, txid_current())",
                &[&probe.message],
            )
            .await?;
            match probe.fails {
                Fails::Returns => return Err(StoreError::Other("the effect failed".into())),
                Fails::FirstTime if first => {
                    return Err(StoreError::Other("the effect failed once".into()))
                }
                Fails::Statement => {
                    tx.execute("SELECT 1 / 0", &[]).await?;
                }
                Fails::Panics => panic!("a bug in the effect"),
                Fails::Never | Fails::FirstTime => {}
            }
            Ok((0..probe.replies)
                .map(|n| Reply::text(format!("{} reply {n}", probe.message)))
                .collect())
        })
    }

    fn committed(&self) {
        self.0.committed.fetch_add(1, Ordering::SeqCst);
    }
}

/// Commits every `(id, probe)` at once (queued before any batch runs, so up to the batch limit
/// they share one batch: the test runtime has one thread).
async fn commit_together(
    store: &PgStore,
    messages: &[(&str, &Arc<Probe>)],
) -> Vec<Result<Commit, StoreError>> {
    let commits = messages
        .iter()
        .map(|(id, probe)| store.commit(key(id), Box::new(Shared(Arc::clone(probe))), quoting(id)));
    futures::future::join_all(commits).await
}

/// The texts of a `Done` outcome's replies, each checked to quote `id`.
fn done_texts(id: &str, outcome: &Result<Commit, StoreError>) -> Vec<String> {
    match outcome {
        Ok(Commit::Done(envelopes)) => envelopes
            .iter()
            .map(|envelope| {
                assert_eq!(
                    envelope.reply_to.as_deref(),
                    Some(id),
                    "{id}'s reply quotes it"
                );
                text(envelope).to_owned()
            })
            .collect(),
        other => panic!("{id}: expected Done, got {other:?}"),
    }
}

/// What the outbox holds for each of `envelopes`' ids: the store's envelopes name the rows it
/// inserted for them.
async fn outbox_texts(store: &PgStore, outcome: &Result<Commit, StoreError>) -> Vec<String> {
    let Ok(Commit::Done(envelopes)) = outcome else {
        panic!("expected Done, got {outcome:?}");
    };
    let client = store.pool().get().await.unwrap();
    let mut texts = Vec::new();
    for envelope in envelopes {
        let row = client
            .query_one(
                "SELECT body->>'text', reply_to FROM outbox WHERE id = $1",
                &[&envelope.outbox_id],
            )
            .await
            .unwrap();
        let reply_to: Option<String> = row.get(1);
        assert_eq!(reply_to, envelope.reply_to);
        texts.push(row.get(0));
    }
    texts
}

async fn applied_rows(store: &PgStore, message: &str) -> i64 {
    let client = store.pool().get().await.unwrap();
    client
        .query_one(
            "SELECT count(*) FROM test_applied WHERE message = $1",
            &[&message],
        )
        .await
        .unwrap()
        .get(0)
}

async fn inbox_rows(store: &PgStore, message_id: &str) -> i64 {
    let client = store.pool().get().await.unwrap();
    client
        .query_one(
            "SELECT count(*) FROM inbox WHERE message_id = $1",
            &[&message_id],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn a_batch_without_failures_commits_in_one_transaction_applying_each_new_effect_once() {
    let store = pg_with(APPLIED).await;
    let earlier = Probe::new("wamid.earlier", Fails::Never);
    let outcome = commit_together(&store, &[("wamid.earlier", &earlier)]).await;
    assert_eq!(done_texts("wamid.earlier", &outcome[0]).len(), 1);

    // Messages answering 0, 1, 2 or 3 times (the outbox ids must go back to the right
    // message, in order), a redelivery of an earlier message, and one key twice.
    let ids: Vec<String> = (0..12).map(|n| format!("wamid.{n}")).collect();
    let probes: Vec<Arc<Probe>> = ids
        .iter()
        .enumerate()
        .map(|(n, id)| Probe::with(id, n % 4, Fails::Never, Vec::new(), None))
        .collect();
    let redelivered = Probe::new("wamid.earlier", Fails::Never);
    let second_copy = Probe::new("wamid.5", Fails::Never);
    let mut batch: Vec<(&str, &Arc<Probe>)> = ids.iter().map(String::as_str).zip(&probes).collect();
    batch.insert(3, ("wamid.earlier", &redelivered));
    batch.push(("wamid.5", &second_copy));
    let outcomes = commit_together(&store, &batch).await;

    for (outcome, (id, probe)) in outcomes.iter().zip(&batch) {
        if std::ptr::eq(*probe, &redelivered) || std::ptr::eq(*probe, &second_copy) {
            assert!(
                matches!(outcome, Ok(Commit::Duplicate)),
                "{id}: {outcome:?}"
            );
            assert_eq!(
                probe.applied(),
                0,
                "{id}: a duplicate's effect is not applied"
            );
            assert_eq!(probe.committed(), 0);
            continue;
        }
        let expected: Vec<String> = (0..probe.replies)
            .map(|n| format!("{id} reply {n}"))
            .collect();
        assert_eq!(done_texts(id, outcome), expected);
        assert_eq!(outbox_texts(&store, outcome).await, expected);
        assert_eq!(probe.applied(), 1, "{id}: applied once, no second attempt");
        assert_eq!(probe.committed(), 1, "{id}: reported committed once");
    }
    assert_eq!(
        count(
            &store,
            "SELECT count(DISTINCT xid) FROM test_applied WHERE message <> 'wamid.earlier'"
        )
        .await,
        1,
        "one batch, one transaction"
    );
    assert_eq!(count(&store, "SELECT count(*) FROM inbox").await, 13);
    assert_eq!(
        count(&store, "SELECT count(*) FROM outbox").await,
        1 + (0..12).map(|n| n % 4).sum::<i64>()
    );
}

#[tokio::test]
async fn failing_messages_fail_alone_and_leave_nothing_while_the_rest_of_their_batch_commits() {
    let store = pg_with(APPLIED).await;
    // The set-based attempt applies effects up to the first failure (the transient one), rolls
    // back, and the batch runs again with savepoints: the effects before it apply twice.
    let kinds = [
        Fails::Never,
        Fails::Never,
        Fails::FirstTime,
        Fails::Never,
        Fails::Returns,
        Fails::Never,
        Fails::Statement,
        Fails::Panics,
        Fails::Never,
    ];
    let ids: Vec<String> = (0..kinds.len()).map(|n| format!("wamid.{n}")).collect();
    let probes: Vec<Arc<Probe>> = ids
        .iter()
        .zip(kinds)
        .map(|(id, fails)| Probe::new(id, fails))
        .collect();
    let batch: Vec<(&str, &Arc<Probe>)> = ids.iter().map(String::as_str).zip(&probes).collect();
    let outcomes = commit_together(&store, &batch).await;

    for (n, ((outcome, (id, probe)), fails)) in outcomes.iter().zip(&batch).zip(kinds).enumerate() {
        match fails {
            Fails::Never | Fails::FirstTime => {
                let expected = vec![format!("{id} reply 0")];
                assert_eq!(done_texts(id, outcome), expected);
                assert_eq!(outbox_texts(&store, outcome).await, expected);
                assert_eq!(applied_rows(&store, id).await, 1, "{id}: its effect once");
                assert_eq!(
                    probe.applied(),
                    if n <= 2 { 2 } else { 1 },
                    "{id}: applied in the set-based attempt up to the first failure, then \
                     again with savepoints"
                );
                assert_eq!(probe.committed(), 1);
            }
            Fails::Returns | Fails::Statement | Fails::Panics => {
                assert!(outcome.is_err(), "{id} ({fails:?}): {outcome:?}");
                assert_eq!(probe.applied(), 1, "{id}: after the first failure");
                assert_eq!(applied_rows(&store, id).await, 0, "{id}: nothing stays");
                assert_eq!(inbox_rows(&store, id).await, 0, "{id}: not marked handled");
                assert_eq!(probe.committed(), 0);
            }
        }
    }
    if let Err(error) = &outcomes[7] {
        assert!(error.to_string().contains("panicked"), "{error}");
    }
    assert_eq!(count(&store, "SELECT count(*) FROM inbox").await, 6);
    assert_eq!(count(&store, "SELECT count(*) FROM outbox").await, 6);
    assert_eq!(
        count(&store, "SELECT count(DISTINCT xid) FROM test_applied").await,
        1,
        "the batch committed in one transaction"
    );

    // A failed message is new to its redelivery.
    let again = Probe::new("wamid.4", Fails::Never);
    let outcome = commit_together(&store, &[("wamid.4", &again)]).await;
    assert_eq!(done_texts("wamid.4", &outcome[0]), vec!["wamid.4 reply 0"]);
}

#[tokio::test]
async fn a_message_failing_alone_is_rolled_back_without_a_second_attempt() {
    let store = pg_with(APPLIED).await;
    let failing = Probe::new("wamid.1", Fails::Statement);
    let outcome = commit_together(&store, &[("wamid.1", &failing)]).await;

    assert!(outcome[0].is_err(), "{:?}", outcome[0]);
    assert_eq!(failing.applied(), 1);
    assert_eq!(count(&store, "SELECT count(*) FROM test_applied").await, 0);
    assert_eq!(count(&store, "SELECT count(*) FROM inbox").await, 0);
}

#[tokio::test]
async fn the_same_key_twice_in_a_batch_is_applied_by_the_second_copy_when_the_first_fails() {
    let store = pg_with(APPLIED).await;
    let first = Probe::new("wamid.1", Fails::Returns);
    let second = Probe::new("wamid.1", Fails::Never);
    let other = Probe::new("wamid.2", Fails::Never);
    let outcomes = commit_together(
        &store,
        &[
            ("wamid.1", &first),
            ("wamid.1", &second),
            ("wamid.2", &other),
        ],
    )
    .await;

    assert!(outcomes[0].is_err(), "{:?}", outcomes[0]);
    assert_eq!(done_texts("wamid.1", &outcomes[1]), vec!["wamid.1 reply 0"]);
    assert_eq!(done_texts("wamid.2", &outcomes[2]), vec!["wamid.2 reply 0"]);
    assert_eq!(applied_rows(&store, "wamid.1").await, 1);
    assert_eq!(inbox_rows(&store, "wamid.1").await, 1);
    assert_eq!((first.committed(), second.committed()), (0, 1));
}

#[tokio::test]
async fn two_batches_locking_in_opposite_orders_both_commit_after_the_deadlock_victim_runs_again() {
    let store = pg_with(APPLIED).await;
    let url = store.db().unwrap().url().to_owned();
    let (entered, mut entered_rx) = tokio::sync::watch::channel(false);
    let (release, release_rx) = tokio::sync::oneshot::channel();
    // Batch x locks 1 (and waits there), then 2; batch y locks 2, then 1.
    let x1 = Probe::with(
        "x1",
        1,
        Fails::Never,
        vec![1],
        Some(Gate {
            entered,
            release: Mutex::new(Some(release_rx)),
        }),
    );
    let x2 = Probe::with("x2", 1, Fails::Never, vec![2], None);
    let y1 = Probe::with("y1", 1, Fails::Never, vec![2], None);
    let y2 = Probe::with("y2", 1, Fails::Never, vec![1], None);

    let mut y_entered = entered_rx.clone();
    let x_batch = [("x1", &x1), ("x2", &x2)];
    let (x, y, ()) = tokio::join!(
        commit_together(&store, &x_batch),
        async {
            // Once x holds lock 1: y takes 2, then waits for 1.
            y_entered.wait_for(|inside| *inside).await.unwrap();
            commit_together(&store, &[("y1", &y1), ("y2", &y2)]).await
        },
        async {
            entered_rx.wait_for(|inside| *inside).await.unwrap();
            postgres::a_session_waits_on_a_lock(&url).await;
            // x goes on to lock 2, which y holds: a deadlock, and Postgres aborts one of them.
            release.send(()).unwrap();
        }
    );

    for (id, outcome) in [("x1", &x[0]), ("x2", &x[1]), ("y1", &y[0]), ("y2", &y[1])] {
        assert_eq!(done_texts(id, outcome), vec![format!("{id} reply 0")]);
        assert_eq!(applied_rows(&store, id).await, 1);
    }
    let attempts: Vec<usize> = [&x1, &x2, &y1, &y2].iter().map(|p| p.applied()).collect();
    assert!(
        attempts == [1, 1, 2, 2] || attempts == [2, 2, 1, 1],
        "one batch, the deadlock's victim, ran again: {attempts:?}"
    );
}

/// An effect of a batchable kind: applied alone, it records its message like [`Record`]; with
/// others of its kind, [`TEST_BATCH`] records them all in one statement and notes the batch in
/// `log`. With `fails`, it fails either way.
struct Batchable {
    message: String,
    fails: bool,
    log: Arc<Mutex<Vec<Vec<String>>>>,
}

fn batchable(message: &str, fails: bool, log: &Arc<Mutex<Vec<Vec<String>>>>) -> Box<Batchable> {
    Box::new(Batchable {
        message: message.to_owned(),
        fails,
        log: Arc::clone(log),
    })
}

impl Effect for Batchable {
    fn apply<'a>(&'a self, tx: &'a mut Tx<'_>) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        Box::pin(async move {
            let Tx::Pg(tx) = tx else {
                panic!("these tests run on Postgres");
            };
            tx.execute(
                "INSERT INTO test_applied VALUES ($1, txid_current())",
                &[&self.message],
            )
            .await?;
            if self.fails {
                return Err(StoreError::Other(format!("{} failed", self.message)));
            }
            Ok(vec![Reply::text(format!("{} alone", self.message))])
        })
    }

    fn batch(&self) -> Option<Batched<'_>> {
        Some(Batched {
            applier: &TEST_BATCH,
            effect: self,
        })
    }
}

static TEST_BATCH: TestBatch = TestBatch;

struct TestBatch;

impl EffectBatch for TestBatch {
    fn kind(&self) -> &'static str {
        "test"
    }

    fn apply_all<'a>(
        &'a self,
        effects: &'a [&'a (dyn std::any::Any + Send + Sync)],
        tx: &'a mut Tx<'_>,
    ) -> BoxFuture<'a, Result<Vec<Vec<Reply>>, StoreError>> {
        Box::pin(async move {
            let effects: Vec<&Batchable> = effects
                .iter()
                .map(|effect| effect.downcast_ref::<Batchable>().unwrap())
                .collect();
            let messages: Vec<String> = effects.iter().map(|e| e.message.clone()).collect();
            effects[0].log.lock().unwrap().push(messages.clone());
            let Tx::Pg(tx) = tx else {
                panic!("these tests run on Postgres");
            };
            tx.execute(
                "INSERT INTO test_applied SELECT unnest($1::text[]), txid_current()",
                &[&messages],
            )
            .await?;
            if let Some(failing) = effects.iter().find(|effect| effect.fails) {
                return Err(StoreError::Other(format!("{} failed", failing.message)));
            }
            let n = effects.len();
            Ok((1..=n)
                .map(|i| {
                    vec![Reply::text(format!(
                        "{} batched {i} of {n}",
                        messages[i - 1]
                    ))]
                })
                .collect())
        })
    }
}

/// Commits every `(id, effect)` at once (one batch, as in [`commit_together`]).
async fn commit_effects(
    store: &PgStore,
    messages: Vec<(&str, Box<dyn Effect>)>,
) -> Vec<Result<Commit, StoreError>> {
    let commits = messages
        .into_iter()
        .map(|(id, effect)| store.commit(key(id), effect, quoting(id)));
    futures::future::join_all(commits).await
}

#[tokio::test]
async fn batchable_effects_are_applied_together_in_commit_order_and_the_others_one_by_one() {
    let store = pg_with(APPLIED).await;
    let log = Arc::new(Mutex::new(Vec::new()));
    let probes = [
        Probe::new("p0", Fails::Never),
        Probe::new("p1", Fails::Never),
    ];
    let earlier = commit_effects(&store, vec![("b1", batchable("b1", false, &log))]).await;
    assert_eq!(
        done_texts("b1", &earlier[0]),
        ["b1 alone"],
        "a batch of one"
    );

    let outcomes = commit_effects(
        &store,
        vec![
            ("b0", batchable("b0", false, &log)),
            ("p0", Box::new(Shared(Arc::clone(&probes[0])))),
            ("b1", batchable("b1 again", false, &log)),
            ("b2", batchable("b2", false, &log)),
            ("p1", Box::new(Shared(Arc::clone(&probes[1])))),
            ("b3", batchable("b3", false, &log)),
        ],
    )
    .await;

    assert_eq!(
        *log.lock().unwrap(),
        [["b0", "b2", "b3"]],
        "one call, in commit order, without the duplicate"
    );
    assert_eq!(done_texts("b0", &outcomes[0]), ["b0 batched 1 of 3"]);
    assert_eq!(done_texts("p0", &outcomes[1]), ["p0 reply 0"]);
    assert!(
        matches!(outcomes[2], Ok(Commit::Duplicate)),
        "{:?}",
        outcomes[2]
    );
    assert_eq!(done_texts("b2", &outcomes[3]), ["b2 batched 2 of 3"]);
    assert_eq!(done_texts("p1", &outcomes[4]), ["p1 reply 0"]);
    assert_eq!(done_texts("b3", &outcomes[5]), ["b3 batched 3 of 3"]);
    assert_eq!(
        outbox_texts(&store, &outcomes[5]).await,
        ["b3 batched 3 of 3"]
    );
    assert_eq!(
        count(
            &store,
            "SELECT count(DISTINCT xid) FROM test_applied WHERE message <> 'b1'"
        )
        .await,
        1,
        "one transaction"
    );
    assert_eq!(probes[0].applied() + probes[1].applied(), 2);
}

#[tokio::test]
async fn a_failing_batch_runs_again_one_effect_at_a_time_and_only_the_failing_message_fails() {
    let store = pg_with(APPLIED).await;
    let log = Arc::new(Mutex::new(Vec::new()));
    let probe = Probe::new("p0", Fails::Never);

    let outcomes = commit_effects(
        &store,
        vec![
            ("b0", batchable("b0", false, &log)),
            ("b1", batchable("b1", true, &log)),
            ("p0", Box::new(Shared(Arc::clone(&probe)))),
            ("b2", batchable("b2", false, &log)),
        ],
    )
    .await;

    assert_eq!(
        *log.lock().unwrap(),
        [["b0", "b1", "b2"]],
        "tried once together"
    );
    assert_eq!(done_texts("b0", &outcomes[0]), ["b0 alone"]);
    assert!(
        matches!(&outcomes[1], Err(StoreError::Other(e)) if e == "b1 failed"),
        "{:?}",
        outcomes[1]
    );
    assert_eq!(done_texts("p0", &outcomes[2]), ["p0 reply 0"]);
    assert_eq!(done_texts("b2", &outcomes[3]), ["b2 alone"]);
    for (message, rows) in [("b0", 1), ("b1", 0), ("p0", 1), ("b2", 1)] {
        assert_eq!(applied_rows(&store, message).await, rows, "{message}");
    }
    assert_eq!(
        inbox_rows(&store, "b1").await,
        0,
        "the failed message is not marked seen"
    );
}
