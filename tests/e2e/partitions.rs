//! Partitioned ingest with two replicas (`INGEST_PARTITIONS=4`): messages of many
//! conversations posted round-robin to both are each answered once, every conversation's
//! replies committed in message order; and when a replica is killed (`kill -9`) its partitions
//! are taken over within the lease time, nothing lost or answered twice.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use alfred_testkit::graph::FakeGraph;
use alfred_testkit::whatsapp;

use crate::helpers::*;

pub(crate) const PARTITIONS: u32 = 4;
pub(crate) const CONVERSATIONS: usize = 8;

/// The `i`-th message: conversation `i % 8`, an item to add.
pub(crate) fn message(i: usize) -> (String, String) {
    let from = format!("1555200{:04}", i % CONVERSATIONS);
    let wamid = format!("wamid.PART{i:03}");
    let body = whatsapp::text_message(PHONE_ID, &from, "Kid", &wamid, &format!("add item{i}"));
    (wamid, body)
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

#[actix_rt::test]
async fn two_replicas_on_four_partitions_answer_every_message_once_and_each_conversation_in_order()
{
    let first = TestApp::spawn_on(
        Backends::new().await,
        &partitioned("replica-a", PARTITIONS),
        Vec::new(),
    )
    .await;
    let backends = Backends {
        db: first.backends.db.clone(),
        prefix: first.backends.prefix.clone(),
        redis_url: first.backends.redis_url.clone(),
        graph: FakeGraph::start().await,
        instance: first.backends.instance,
    };
    let second =
        TestApp::spawn_on(backends, &partitioned("replica-b", PARTITIONS), Vec::new()).await;

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
    partitions_quiescent(&first.backends, PARTITIONS).await;

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
    let survivor = TestApp::spawn_on(
        Backends::new().await,
        &partitioned("survivor", PARTITIONS),
        Vec::new(),
    )
    .await;
    let backends = &survivor.backends;
    // A replica that owns at least one partition.
    let (mut doomed, _) = start_replica_until(backends, "doomed", PARTITIONS, 2, |holders| {
        !held_by(holders, "doomed").is_empty()
    })
    .await;
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
        if post_signed_to(&http, &base, &body).await {
            accepted.push((i, wamid));
        }
        if i == 20 {
            doomed.kill();
        }
    }
    let taken_over = eventually("the survivor to own every partition", || async {
        let holders = lease_holders(backends, PARTITIONS).await;
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
    partitions_quiescent(backends, PARTITIONS).await;

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
