//! Alfred on a Redis Cluster (a private three-master cluster, `REDIS_URL` listing its nodes)
//! with partitioned ingest: the WhatsApp path answers each message once, and three replicas
//! (the real binary, one killed `-9` midway, one stopped past its lease between commits and
//! resumed) answer
//! every accepted message once and each conversation in order. The partitions' keys hash to slots on different masters, so the
//! streams, leases and fences really are spread over the cluster.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_testkit::free_port;
use alfred_testkit::redis_cluster::RedisCluster;

use crate::helpers::*;
use crate::partitions::{accepted_order, message, PARTITIONS};

/// Backends whose Redis is `cluster` (Postgres and the fake Graph API as usual).
async fn on_cluster(cluster: &RedisCluster) -> Backends {
    let mut backends = Backends::new().await;
    backends.redis_url = cluster.url();
    backends
}

/// How many of the cluster's masters hold at least one key.
fn masters_with_keys(cluster: &RedisCluster) -> usize {
    cluster
        .ports()
        .iter()
        .filter(|port| {
            let client =
                deadpool_redis::redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap();
            let mut conn = client.get_connection().unwrap();
            let keys: u64 = deadpool_redis::redis::cmd("DBSIZE")
                .query(&mut conn)
                .unwrap();
            keys > 0
        })
        .count()
}

fn expected(accepted: &[(usize, String)]) -> Vec<String> {
    let mut expected: Vec<String> = accepted.iter().map(|(_, wamid)| wamid.clone()).collect();
    expected.sort();
    expected
}

#[actix_rt::test]
async fn the_whatsapp_path_on_a_redis_cluster_answers_each_message_once() {
    let cluster = RedisCluster::start();
    let app = TestApp::spawn_on(
        on_cluster(&cluster).await,
        &partitioned("cluster-one", PARTITIONS),
        Vec::new(),
    )
    .await;

    let mut accepted = Vec::new();
    for i in 0..16 {
        let (wamid, body) = message(i);
        assert_eq!(app.post_signed(&body).await.status(), 200, "accepted");
        accepted.push((i, wamid));
    }
    app.backends
        .graph
        .wait_for_requests(accepted.len(), DEADLINE)
        .await;
    partitions_quiescent(&app.backends, PARTITIONS).await;

    assert_eq!(
        answered(&[&app.backends.graph]),
        expected(&accepted),
        "each message answered exactly once, by a reply at the Graph API"
    );
    assert_eq!(
        committed_order(&app.backends).await,
        accepted_order(&accepted),
        "each conversation's replies committed in message order"
    );
    assert!(
        masters_with_keys(&cluster) >= 2,
        "the keys are spread over the cluster's masters"
    );
}

/// Posts message `i` to `replica`; whether it was accepted.
async fn post(
    http: &reqwest::Client,
    replica: &AlfredProcess,
    i: usize,
) -> Option<(usize, String)> {
    let (wamid, body) = message(i);
    post_signed_to(http, &replica.base, &body)
        .await
        .then_some((i, wamid))
}

/// Waits until every partition's lease is held by a replica whose id starts with one of `owners`.
async fn held_only_by(backends: &Backends, owners: &[&str]) {
    eventually("the partitions to move to the live replicas", || async {
        let holders = lease_holders(backends, PARTITIONS).await;
        holders
            .iter()
            .all(|holder| {
                holder
                    .as_deref()
                    .is_some_and(|h| owners.iter().any(|owner| h.starts_with(owner)))
            })
            .then_some(())
    })
    .await;
}

#[actix_rt::test]
async fn three_replicas_on_a_redis_cluster_one_killed_one_stopped_answer_every_message_once_and_in_order(
) {
    let cluster = RedisCluster::start();
    let backends = on_cluster(&cluster).await;
    let mut replicas = Vec::new();
    for name in ["cluster-a", "cluster-b", "cluster-c"] {
        replicas.push(
            AlfredProcess::start_with(&backends, free_port(), &partitioned(name, PARTITIONS)).await,
        );
    }
    eventually(
        "the partitions to be balanced over three replicas",
        || async {
            let live = live_replicas(&backends).await;
            let holders = lease_holders(&backends, PARTITIONS).await;
            let owners = alfred_actors::partitions::owners(PARTITIONS, &live);
            let balanced = live.len() == 3
                && holders
                    .iter()
                    .zip(owners)
                    .all(|(holder, owner)| holder.as_deref() == Some(owner));
            balanced.then_some(())
        },
    )
    .await;
    // The `sent` callbacks go to the replica that is never stopped.
    backends
        .graph
        .send_statuses_to(&format!("{}/webhook", replicas[0].base), APP_SECRET);

    let http = reqwest::Client::new();
    let mut accepted = Vec::new();
    // Round-robin over the three; then c is killed (-9) and the rest go round-robin over a
    // and b.
    for i in 0..32 {
        let live = if i < 16 { 3 } else { 2 };
        accepted.extend(post(&http, &replicas[i % live], i).await);
        if i == 15 {
            replicas[2].kill();
        }
    }
    // b is stopped (SIGSTOP) until its leases have lapsed and a holds every partition, a takes
    // the rest alone, and b resumes. b is stopped between commits: a replica stopped inside a
    // commit holds the fence row's share lock until Postgres ends its idle transaction (5 s,
    // see actors/src/store/postgres/fence.rs and its test in actors/tests/partitions.rs); that
    // case is the same on one Redis and not what this test is about.
    backends
        .graph
        .wait_for_requests(accepted.len(), DEADLINE)
        .await;
    partitions_quiescent(&backends, PARTITIONS).await;
    replicas[1].stop();
    held_only_by(&backends, &["cluster-a"]).await;
    for i in 32..48 {
        accepted.extend(post(&http, &replicas[0], i).await);
    }
    replicas[1].resume();

    backends
        .graph
        .wait_for_requests(accepted.len(), DEADLINE)
        .await;
    partitions_quiescent(&backends, PARTITIONS).await;

    assert!(accepted.len() >= 32, "the replicas accepted the messages");
    assert_eq!(
        answered(&[&backends.graph]),
        expected(&accepted),
        "each accepted message answered exactly once"
    );
    assert_eq!(
        committed_order(&backends).await,
        accepted_order(&accepted),
        "each conversation's replies committed in message order"
    );
}
