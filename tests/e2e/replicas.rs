//! Many replicas on one Redis and Postgres (`INGEST_PARTITIONS`), black box, the way an
//! operator runs them behind a round-robin balancer (issue 12's must-show tests):
//!
//! * three replicas, one killed (`kill -9`) mid-run and one stopped (`SIGSTOP`) past its lease
//!   with messages in hand, then resumed: every accepted message is answered exactly once,
//!   each conversation's replies reach the Graph API in message order, and the resumed
//!   replica's commits of what it held are refused by the fencing token
//!   (`alfred_fenced_commits_total` on that replica);
//! * a replica joining two and leaving again (`SIGTERM`): the partitions rebalance within a
//!   few lease times both ways, nothing lost or answered twice.
//!
//! The replicas are an in-process Alfred (never harmed; the fake Graph API's `sent` callbacks
//! go to it) and `alfred` processes, which can be killed and stopped.
//!
//! So that the paused replica surely has work in hand when it stops (not only entries read),
//! the test holds `inbox` locked while it posts: every replica's messages wait at their first
//! look at the inbox, before any commit. Once the replica to pause is seen waiting there
//! (`pg_stat_activity`, its sessions named), it is stopped and the lock released: its look-up
//! completes in Postgres while it sleeps ("not handled yet"), its lease lapses, the new owner
//! raises the fence and answers the messages, and on waking the replica commits them under its
//! old token — which Postgres refuses.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use alfred_actors::messages::Platform;
use alfred_actors::partitions::partition_of;
use alfred_testkit::whatsapp;

use crate::helpers::*;

const PARTITIONS: u32 = 6;
/// Conversations per partition: whichever partitions a replica owns, it has work.
const PER_PARTITION: usize = 2;
/// How long a rebalance may take before the test fails: a few lease times.
const REBALANCE: Duration = Duration::from_millis(5 * LEASE_MS);

/// Conversations (senders' numbers), [`PER_PARTITION`] on each partition.
fn conversations() -> Vec<String> {
    let mut on_partition = [0; PARTITIONS as usize];
    let mut chosen = Vec::new();
    for n in 0.. {
        let from = format!("1555300{n:04}");
        let p = partition_of(Platform::WhatsApp, &from, PARTITIONS) as usize;
        if on_partition[p] < PER_PARTITION {
            on_partition[p] += 1;
            chosen.push(from);
        }
        if chosen.len() == PER_PARTITION * PARTITIONS as usize {
            return chosen;
        }
    }
    unreachable!("the numbers run out before the partitions fill")
}

/// What the balancer accepted: `(conversation, message id)`, in the order posted.
#[derive(Default)]
struct Accepted(Vec<(String, String)>);

impl Accepted {
    /// Sorted message ids.
    fn ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.0.iter().map(|(_, wamid)| wamid.clone()).collect();
        ids.sort();
        ids
    }

    /// Each conversation's message ids, in the order they were accepted.
    fn by_conversation(&self) -> BTreeMap<String, Vec<String>> {
        let mut order: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (from, wamid) in &self.0 {
            order.entry(from.clone()).or_default().push(wamid.clone());
        }
        order
    }
}

/// Posts `per_conversation` messages to each conversation through the balancer, the
/// conversations interleaved; `round` keeps message ids unique across calls.
async fn post_round(
    balancer: &mut RoundRobin,
    conversations: &[String],
    round: usize,
    per_conversation: usize,
    accepted: &mut Accepted,
) {
    for seq in 0..per_conversation {
        for (c, from) in conversations.iter().enumerate() {
            let wamid = format!("wamid.REPL{round}.{seq}.{c:02}");
            let text = format!("add item{c}r{round}s{seq}");
            let body = whatsapp::text_message(PHONE_ID, from, "Kid", &wamid, &text);
            if balancer.post(&body).await {
                accepted.0.push((from.clone(), wamid));
            }
        }
    }
}

/// Waits until every accepted message has been answered and nothing is left in flight.
async fn all_answered(backends: &Backends, accepted: &Accepted) {
    let expected = accepted.0.len();
    eventually("every accepted message to be answered", || async {
        (backends.graph.request_count() >= expected).then_some(())
    })
    .await;
    partitions_quiescent(backends, PARTITIONS).await;
}

/// Exactly once, and each conversation's replies committed and received in message order.
async fn assert_answered_once_in_order(backends: &Backends, accepted: &Accepted) {
    assert_eq!(
        answered(&[&backends.graph]),
        accepted.ids(),
        "each accepted message answered exactly once"
    );
    assert_eq!(
        committed_order(backends).await,
        accepted.by_conversation(),
        "each conversation's replies committed in message order"
    );
    // As the Graph API received them: a reply whose `alfred-outbox` entry is stranded at a
    // sender that cannot send (taken by the blocking read of the SIGSTOPped replica, or held
    // by the killed one) is claimed by another sender only after `OUTBOX_CLAIM_IDLE_MS`; the
    // next reply of its conversation is held behind it meanwhile (the outbox's per-recipient
    // order), not sent at once.
    assert_eq!(
        received_order(&backends.graph),
        accepted.by_conversation(),
        "each conversation's replies received by the Graph API in message order"
    );
}

/// Takes `inbox` for itself (`ACCESS EXCLUSIVE`, until the returned client commits): every
/// replica's messages stop at their first look at the inbox, before their commit, and wait.
async fn lock_inbox(backends: &Backends) -> tokio_postgres::Client {
    let client = backends.pg().await;
    client
        .batch_execute("BEGIN; LOCK TABLE inbox IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    client
}

/// Queries of the Postgres session named `application_name` waiting for a lock (a read of a
/// message's: the inbox look-up its commit comes after).
async fn reads_waiting(backends: &Backends, application_name: &str) -> i64 {
    backends
        .pg()
        .await
        .query_one(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = $1 \
             AND wait_event_type = 'Lock' AND query LIKE 'SELECT%'",
            &[&application_name],
        )
        .await
        .unwrap()
        .get(0)
}

/// `XPENDING stream group`: count, lowest and highest id, and `(consumer, count)` pairs.
type PendingSummary = (
    u64,
    Option<String>,
    Option<String>,
    Option<Vec<(String, String)>>,
);

/// Entries of the partitions' groups pending at the consumers of replica `hostname`: read by it
/// and not acknowledged.
async fn pending_at(backends: &Backends, hostname: &str) -> u64 {
    let mut conn = backends.redis().await;
    let stem = format!("{hostname}-");
    let mut pending = 0;
    for p in 0..PARTITIONS {
        let stream = backends.stream_key(&format!("alfred-ingest:{{p{p}}}"));
        let summary: PendingSummary = deadpool_redis::redis::cmd("XPENDING")
            .arg(stream)
            .arg(backends.group_name("alfred-orchestrators"))
            .query_async(&mut conn)
            .await
            .unwrap();
        for (consumer, count) in summary.3.unwrap_or_default() {
            if consumer.starts_with(&stem) {
                pending += count.parse::<u64>().unwrap();
            }
        }
    }
    pending
}

/// `DATABASE_URL` with `application_name` set, so that `pg_stat_activity` tells whose a
/// session is.
fn named_database_url(backends: &Backends, application_name: &str) -> String {
    let url = backends.db.url();
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}application_name={application_name}")
}

#[actix_rt::test]
async fn three_replicas_one_killed_and_one_paused_past_its_lease_answer_every_message_once_in_order_and_the_paused_ones_commits_are_fenced(
) {
    let steady = TestApp::spawn_on(
        Backends::new().await,
        &partitioned("steady", PARTITIONS),
        Vec::new(),
    )
    .await;
    let backends = &steady.backends;
    let (mut killed, _) = start_replica_until(backends, "killed", PARTITIONS, 2, |holders| {
        !held_by(holders, "killed").is_empty()
    })
    .await;
    // The replica to pause: its Postgres sessions are named, to see its reads wait. Its
    // statements go unnamed, parse-bind-execute in one round trip: a read waiting for the
    // test's lock is then already executing, and runs the moment the lock goes, paused or not.
    // (With the statement cache its first read on a connection is a prepare, and the
    // execution, sent only after it resumes, would find the messages handled by the new owner:
    // nothing left to refuse.)
    let mut paused = None;
    for _ in 0..8 {
        let mut settings = partitioned("paused", PARTITIONS);
        settings.push(("DATABASE_URL", named_database_url(backends, "paused")));
        settings.push(("DATABASE_STATEMENT_CACHE", "off".to_owned()));
        let process = AlfredProcess::start_with(backends, free_port(), &settings).await;
        let holders = eventually("the partitions to be balanced over three replicas", || {
            balanced_holders(backends, PARTITIONS, 3)
        })
        .await;
        if !held_by(&holders, "paused").is_empty() && !held_by(&holders, "killed").is_empty() {
            paused = Some(process);
            break;
        }
    }
    let paused = paused.expect("the third replica came to own a partition, the second kept one");
    // `sent` callbacks go to the replica that is never harmed.
    backends
        .graph
        .send_statuses_to(&format!("{}/webhook", steady.base), APP_SECRET);
    let conversations = conversations();
    let mut balancer = RoundRobin::new(vec![
        steady.base.clone(),
        killed.base.clone(),
        paused.base.clone(),
    ]);
    let mut accepted = Accepted::default();

    // Round 0, a replica killed mid-run: posts to it fail and go to the next replica.
    post_round(&mut balancer, &conversations, 0, 2, &mut accepted).await;
    killed.kill();
    post_round(&mut balancer, &conversations, 1, 1, &mut accepted).await;
    all_answered(backends, &accepted).await;

    // Round 2 with the inbox locked: each replica reads its messages and waits at the lock.
    // Once the paused replica has messages in hand, it is stopped, the lock released.
    let fenced_before = paused.metric("alfred_fenced_commits_total").await;
    let lock = lock_inbox(backends).await;
    post_round(&mut balancer, &conversations, 2, 2, &mut accepted).await;
    let in_hand = eventually("the replica to pause to hold messages, waiting", || async {
        let pending = pending_at(backends, "paused").await;
        let waiting = reads_waiting(backends, "paused").await;
        (pending > 0 && waiting > 0).then_some(pending)
    })
    .await;
    paused.stop();
    lock.batch_execute("COMMIT").await.unwrap();

    // Past its lease, its partitions are the steady replica's, which answers what it held.
    eventually("the steady replica to own every partition", || async {
        let holders = lease_holders(backends, PARTITIONS).await;
        let holders: Option<Vec<String>> = holders.into_iter().collect();
        holders.filter(|holders| held_by(holders, "steady").len() == PARTITIONS as usize)
    })
    .await;
    let expected = accepted.0.len();
    eventually("the others to answer every accepted message", || async {
        (backends.graph.request_count() >= expected).then_some(())
    })
    .await;

    // Resumed, it carries on with the messages in its hands: their commits are refused.
    paused.resume();
    let fenced = eventually("the resumed replica's commits to be refused", || async {
        let fenced = paused.metric("alfred_fenced_commits_total").await;
        (fenced > fenced_before).then_some(fenced)
    })
    .await;

    // Round 3 with it back among the live replicas.
    post_round(&mut balancer, &conversations, 3, 2, &mut accepted).await;
    all_answered(backends, &accepted).await;

    assert!(
        balancer.retried > 0,
        "posts to the killed replica went to the next"
    );
    assert!(in_hand > 0, "the paused replica held messages when stopped");
    assert!(fenced > fenced_before);
    assert_eq!(
        accepted.0.len(),
        conversations.len() * 7,
        "a replica accepted every message"
    );
    assert_answered_once_in_order(backends, &accepted).await;
}

#[actix_rt::test]
async fn a_replica_joining_and_leaving_rebalances_the_partitions_and_nothing_is_lost_or_answered_twice(
) {
    let first = TestApp::spawn_on(
        Backends::new().await,
        &partitioned("first", PARTITIONS),
        Vec::new(),
    )
    .await;
    let backends = &first.backends;
    let (second, before) = start_replica_until(backends, "second", PARTITIONS, 2, |holders| {
        !held_by(holders, "second").is_empty()
    })
    .await;
    backends
        .graph
        .send_statuses_to(&format!("{}/webhook", first.base), APP_SECRET);
    let conversations = conversations();
    let mut balancer = RoundRobin::new(vec![first.base.clone(), second.base.clone()]);
    let mut accepted = Accepted::default();
    post_round(&mut balancer, &conversations, 0, 1, &mut accepted).await;

    // A third joins (again, should it by chance own nothing: its leaving is a leave too).
    let mut round = 1;
    let mut joined = None;
    for _ in 0..8 {
        let mut joiner =
            AlfredProcess::start_with(backends, free_port(), &partitioned("joiner", PARTITIONS))
                .await;
        backends
            .graph
            .send_statuses_to(&format!("{}/webhook", first.base), APP_SECRET);
        balancer.add(&joiner.base);
        post_round(&mut balancer, &conversations, round, 1, &mut accepted).await;
        round += 1;
        let holders = alfred_testkit::eventually(
            "the partitions to be rebalanced over three replicas",
            REBALANCE,
            || balanced_holders(backends, PARTITIONS, 3),
        )
        .await;
        if !held_by(&holders, "joiner").is_empty() {
            joined = Some((joiner, holders));
            break;
        }
        assert!(joiner.terminate().await.success());
    }
    let (mut joiner, during) = joined.expect("the joining replica came to own a partition");
    post_round(&mut balancer, &conversations, round, 1, &mut accepted).await;

    // It leaves: its partitions return to the two, each to the replica that held it before
    // (ownership is rendezvous hashing over the live set).
    let exit = joiner.terminate().await;
    post_round(&mut balancer, &conversations, round + 1, 1, &mut accepted).await;
    let after = alfred_testkit::eventually(
        "the partitions to be rebalanced over two replicas",
        REBALANCE,
        || balanced_holders(backends, PARTITIONS, 2),
    )
    .await;
    post_round(&mut balancer, &conversations, round + 2, 1, &mut accepted).await;
    all_answered(backends, &accepted).await;

    assert!(
        exit.success(),
        "the leaving replica stopped cleanly: {exit}"
    );
    assert!(!held_by(&during, "joiner").is_empty());
    assert_eq!(after, before, "the partitions went back to their owners");
    assert_eq!(
        accepted.0.len(),
        conversations.len() * (round + 3),
        "a replica accepted every message"
    );
    assert_answered_once_in_order(backends, &accepted).await;
}
