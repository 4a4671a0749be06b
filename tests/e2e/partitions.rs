//! Partitioned ingest with two replicas (`INGEST_PARTITIONS=4`): messages of many
//! conversations posted round-robin to both are each answered once, every conversation's
//! replies committed in message order; and when a replica is killed (`kill -9`) its partitions
//! are taken over within the lease time, nothing lost or answered twice.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use alfred_testkit::graph::FakeGraph;
use alfred_testkit::{free_port, whatsapp};

use crate::helpers::*;

pub(crate) const PARTITIONS: u32 = 4;
pub(crate) const CONVERSATIONS: usize = 8;

/// Partitions on, with a short lease so that a dead replica's partitions move within a test.
pub(crate) fn partitioned(hostname: &str) -> Vec<(&'static str, String)> {
    vec![
        ("HOSTNAME", hostname.to_owned()),
        ("INGEST_PARTITIONS", PARTITIONS.to_string()),
        ("INGEST_LEASE_MS", "1500".to_owned()),
        // The killed replica's outbox entries are claimed by the survivor within the test.
        ("OUTBOX_CLAIM_IDLE_MS", "1000".to_owned()),
        // Longer than a partition move, so that a `sent` callback stored on the killed
        // replica's partition is handled before the reply it confirms would be sent again.
        ("OUTBOUND_CLAIM_LEASE_MS", "6000".to_owned()),
    ]
}

/// The `i`-th message: conversation `i % 8`, an item to add.
pub(crate) fn message(i: usize) -> (String, String) {
    let from = format!("1555200{:04}", i % CONVERSATIONS);
    let wamid = format!("wamid.PART{i:03}");
    let body = whatsapp::text_message(PHONE_ID, &from, "Kid", &wamid, &format!("add item{i}"));
    (wamid, body)
}

/// The message ids each conversation's replies answer, in the order they were committed
/// (outbox ids follow the commits).
pub(crate) async fn committed_order(backends: &Backends) -> BTreeMap<String, Vec<String>> {
    let rows = backends
        .pg()
        .await
        .query(
            "SELECT recipient, reply_to FROM outbox WHERE reply_to IS NOT NULL ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    let mut order: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for row in rows {
        order.entry(row.get(0)).or_default().push(row.get(1));
    }
    order
}

/// The accepted message ids of each conversation, in the order they were accepted.
pub(crate) fn accepted_order(accepted: &[(usize, String)]) -> BTreeMap<String, Vec<String>> {
    let mut order: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (i, wamid) in accepted {
        let from = format!("1555200{:04}", i % CONVERSATIONS);
        order.entry(from).or_default().push(wamid.clone());
    }
    order
}

/// Every partition stream's group has handled everything, and every reply is final.
pub(crate) async fn partitions_quiescent(backends: &Backends) {
    eventually("every partition to be worked off", || async {
        for p in 0..PARTITIONS {
            let stream = format!("alfred-ingest:{{p{p}}}");
            if backends
                .group_backlog(&stream, "alfred-orchestrators")
                .await
                != (0, 0)
            {
                return None;
            }
        }
        Some(())
    })
    .await;
    backends.quiescent().await;
}

/// The owners (lease holders' replica ids) of the partitions, by partition.
pub(crate) async fn lease_holders(backends: &Backends) -> Vec<Option<String>> {
    let mut conn = backends.redis().await;
    let prefix = alfred_actors::names::instance_prefix(&backends.prefix, backends.instance);
    let mut holders = Vec::new();
    for p in 0..PARTITIONS {
        let value: Option<String> = deadpool_redis::redis::cmd("GET")
            .arg(alfred_actors::names::ingest_lease_key(&prefix, p))
            .query_async(&mut conn)
            .await
            .unwrap();
        holders.push(value.and_then(|v| v.rsplit_once(' ').map(|(owner, _)| owner.to_owned())));
    }
    holders
}

/// The live replicas' ids, as the partition owners see them.
pub(crate) async fn live_replicas(backends: &Backends) -> Vec<String> {
    let mut conn = backends.redis().await;
    let prefix = alfred_actors::names::instance_prefix(&backends.prefix, backends.instance);
    deadpool_redis::redis::cmd("ZRANGE")
        .arg(alfred_actors::names::key(
            &prefix,
            alfred_actors::names::INGEST_REPLICAS,
        ))
        .arg(0)
        .arg(-1)
        .query_async(&mut conn)
        .await
        .unwrap()
}

/// Sorted message ids the Graph API was asked to answer.
pub(crate) fn answered(graphs: &[&FakeGraph]) -> Vec<String> {
    let mut answered: Vec<String> = graphs
        .iter()
        .flat_map(|graph| graph.requests())
        .map(|send| send.reply_to().unwrap().to_owned())
        .collect();
    answered.sort();
    answered
}

#[actix_rt::test]
async fn two_replicas_on_four_partitions_answer_every_message_once_and_each_conversation_in_order()
{
    let first =
        TestApp::spawn_on(Backends::new().await, &partitioned("replica-a"), Vec::new()).await;
    let backends = Backends {
        db: first.backends.db.clone(),
        prefix: first.backends.prefix.clone(),
        redis_url: first.backends.redis_url.clone(),
        graph: FakeGraph::start().await,
        instance: first.backends.instance,
    };
    let second = TestApp::spawn_on(backends, &partitioned("replica-b"), Vec::new()).await;

    let mut accepted = Vec::new();
    for i in 0..48 {
        let (wamid, body) = message(i);
        let replica = if i % 2 == 0 { &first } else { &second };
        assert_eq!(replica.post_signed(&body).await.status(), 200, "accepted");
        accepted.push((i, wamid));
    }
    eventually("every message to be answered", || async {
        let sent = first.backends.graph.requests().len() + second.backends.graph.requests().len();
        (sent >= accepted.len()).then_some(())
    })
    .await;
    partitions_quiescent(&first.backends).await;

    let mut expected: Vec<String> = accepted.iter().map(|(_, wamid)| wamid.clone()).collect();
    expected.sort();
    assert_eq!(
        answered(&[&first.backends.graph, &second.backends.graph]),
        expected,
        "each message answered exactly once"
    );
    assert_eq!(
        committed_order(&first.backends).await,
        accepted_order(&accepted),
        "each conversation's replies committed in message order"
    );
    assert_eq!(
        first.backends.stream_len("alfred-ingest").await,
        0,
        "nothing went to the single stream"
    );
}

#[actix_rt::test]
async fn a_killed_replicas_partitions_are_taken_over_and_nothing_is_lost_or_answered_twice() {
    let survivor =
        TestApp::spawn_on(Backends::new().await, &partitioned("survivor"), Vec::new()).await;
    let backends = &survivor.backends;
    let port = free_port();
    // A replica that owns at least one partition (its id is random: start again until it does).
    let mut doomed = None;
    for _ in 0..8 {
        let process = AlfredProcess::start_with(backends, port, &partitioned("doomed")).await;
        let owns = eventually(
            "the partitions to be balanced over both replicas",
            || async {
                let live = live_replicas(backends).await;
                let holders = lease_holders(backends).await;
                let balanced = live.len() == 2
                    && (0..PARTITIONS).all(|p| {
                        holders[p as usize].as_deref()
                            == alfred_actors::partitions::owner_of(p, &live)
                    });
                balanced.then(|| {
                    holders
                        .iter()
                        .flatten()
                        .any(|holder| holder.starts_with("doomed-"))
                })
            },
        )
        .await;
        if owns {
            doomed = Some(process);
            break;
        }
        drop(process);
    }
    let mut doomed = doomed.expect("the second replica came to own a partition");
    // Graph's `sent` callbacks (which tell a reply whose sender was killed mid-send from one
    // never sent) go to the replica that lives; the process pointed them at itself.
    backends
        .graph
        .send_statuses_to(&format!("{}/webhook", survivor.base), APP_SECRET);
    let http = reqwest::Client::new();

    let mut accepted = Vec::new();
    for i in 0..40 {
        let (wamid, body) = message(i);
        // Round-robin until the kill, then only the survivor is there.
        let base = if i % 2 == 1 && i < 20 {
            doomed.base.clone()
        } else {
            survivor.base.clone()
        };
        let response = http
            .post(format!("{base}/webhook"))
            .header(
                "x-hub-signature-256",
                whatsapp::sign(APP_SECRET, body.as_bytes()),
            )
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        if response.map(|r| r.status() == 200).unwrap_or(false) {
            accepted.push((i, wamid));
        }
        if i == 20 {
            doomed.kill();
        }
    }
    let taken_over = eventually("the survivor to own every partition", || async {
        let holders = lease_holders(backends).await;
        holders
            .iter()
            .all(|holder| {
                holder
                    .as_deref()
                    .is_some_and(|h| h.starts_with("survivor-"))
            })
            .then_some(holders)
    })
    .await;
    backends
        .graph
        .wait_for_requests(accepted.len(), DEADLINE)
        .await;
    partitions_quiescent(backends).await;

    assert_eq!(taken_over.len(), PARTITIONS as usize);
    let mut expected: Vec<String> = accepted.iter().map(|(_, wamid)| wamid.clone()).collect();
    expected.sort();
    assert_eq!(
        answered(&[&backends.graph]),
        expected,
        "each accepted message answered exactly once"
    );
    assert_eq!(
        committed_order(backends).await,
        accepted_order(&accepted),
        "each conversation's replies committed in message order"
    );
}
