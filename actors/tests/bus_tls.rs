//! The Redis bus over TLS (`rediss://`), against private TLS-only `redis-server`s with a test
//! CA: the bus contract over TLS, and the start-up check that tells a certificate problem
//! (permanent) from an unreachable server (wait).
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use alfred_actors::bus::redis::{RedisBus, RedisBusConfig, TlsProblem};
use alfred_actors::bus::{Bus, ReadFrom};
use alfred_config::RedisTls;
use alfred_testkit::free_port;
use alfred_testkit::redis_tls::{ClientAuth, TlsRedis};

const GROUP: &str = "group";
const STREAM: &str = "alfred-tls-contract";
const LONG: Duration = Duration::from_secs(5);

fn bus(url: &str, tls: &RedisTls) -> RedisBus {
    RedisBus::connect_with_tls(url, RedisBusConfig::default(), tls).unwrap()
}

/// Publishes through the writer, reads on a reader connection, acknowledges on the command
/// pool: each kind of connection over TLS.
async fn publish_read_and_ack(bus: &RedisBus) {
    bus.ensure_group(STREAM, GROUP).await.unwrap();
    let sent: Vec<String> = (0..3).map(|n| format!("message {n}")).collect();
    let ids = bus.publish_many(STREAM, &sent).await.unwrap();
    let read = bus
        .read(STREAM, GROUP, "c1", ReadFrom::New, 10, LONG)
        .await
        .unwrap();
    let payloads: Vec<String> = read.iter().map(|entry| entry.payload.clone()).collect();
    assert_eq!(payloads, sent);
    bus.ack(STREAM, GROUP, &ids).await.unwrap();
    let pending = bus
        .read(STREAM, GROUP, "c1", ReadFrom::Pending, 10, Duration::ZERO)
        .await
        .unwrap();
    assert!(
        pending.is_empty(),
        "acknowledged entries stay pending: {pending:?}"
    );
}

#[tokio::test]
async fn the_bus_publishes_reads_and_acknowledges_over_tls_trusting_a_private_ca() {
    let redis = TlsRedis::start(ClientAuth::No);
    let bus = bus(&redis.url(), &redis.tls(Some(&redis.ca_file()), false));

    assert_eq!(bus.check_tls().await, Ok(()));
    publish_read_and_ack(&bus).await;
}

#[tokio::test]
async fn a_server_certificate_from_an_unknown_ca_is_an_unknown_issuer() {
    let redis = TlsRedis::start(ClientAuth::No);

    // The web roots alone do not know the test CA.
    let web_roots_only = bus(&redis.url(), &RedisTls::default());
    assert_eq!(
        web_roots_only.check_tls().await,
        Err(TlsProblem::UnknownIssuer)
    );
    // Nor does another CA.
    let other_ca = bus(
        &redis.url(),
        &redis.tls(Some(&redis.other_ca_file()), false),
    );
    let problem = other_ca.check_tls().await.unwrap_err();
    assert_eq!(problem, TlsProblem::UnknownIssuer);
    assert!(
        problem.to_string().contains("issuer is unknown"),
        "{problem}"
    );
}

#[tokio::test]
async fn a_certificate_for_another_host_is_a_name_mismatch() {
    let redis = TlsRedis::start_for(ClientAuth::No, &["redis.example.test"]);
    let bus = bus(&redis.url(), &redis.tls(Some(&redis.ca_file()), false));

    let problem = bus.check_tls().await.unwrap_err();
    assert!(
        matches!(problem, TlsProblem::NameMismatch { .. }),
        "{problem:?}"
    );
    assert!(problem.to_string().contains("name mismatch"), "{problem}");
    assert!(
        problem.to_string().contains("redis.example.test"),
        "{problem}"
    );
}

#[tokio::test]
async fn an_expired_server_certificate_is_reported_as_expired() {
    let redis = TlsRedis::start_expired();
    let bus = bus(&redis.url(), &redis.tls(Some(&redis.ca_file()), false));

    let problem = bus.check_tls().await.unwrap_err();
    assert_eq!(problem, TlsProblem::Expired);
    assert!(problem.to_string().contains("expired"), "{problem}");
}

#[tokio::test]
async fn mutual_tls_works_with_the_client_certificate() {
    let redis = TlsRedis::start(ClientAuth::Required);
    let bus = bus(&redis.url(), &redis.tls(Some(&redis.ca_file()), true));

    assert_eq!(bus.check_tls().await, Ok(()));
    publish_read_and_ack(&bus).await;
}

#[tokio::test]
async fn mutual_tls_without_a_client_certificate_is_refused() {
    let redis = TlsRedis::start(ClientAuth::Required);
    let bus = bus(&redis.url(), &redis.tls(Some(&redis.ca_file()), false));

    let problem = bus.check_tls().await.unwrap_err();
    assert_eq!(problem, TlsProblem::ClientCertificateRequired);
}

#[tokio::test]
async fn an_unreachable_tls_server_is_not_a_certificate_problem() {
    // Nobody listens there: start-up waits for Redis, as without TLS.
    let bus = bus(
        &format!("rediss://127.0.0.1:{}", free_port()),
        &RedisTls::default(),
    );

    assert_eq!(bus.check_tls().await, Ok(()));
}

#[tokio::test]
async fn mutual_tls_with_a_client_certificate_the_server_does_not_trust_is_refused() {
    let redis = TlsRedis::start(ClientAuth::Required);
    let mut tls = redis.tls(Some(&redis.ca_file()), true);
    if let Some(client) = tls.client.as_mut() {
        client.cert.pem = std::fs::read_to_string(redis.stranger_cert_file()).unwrap();
        client.key_pem = std::fs::read_to_string(redis.stranger_key_file())
            .unwrap()
            .into();
    }
    let bus = bus(&redis.url(), &tls);

    let problem = bus.check_tls().await.unwrap_err();
    assert!(
        matches!(problem, TlsProblem::ClientCertificateRejected(_)),
        "{problem:?}"
    );
    assert!(
        problem
            .to_string()
            .contains("refused the client certificate"),
        "{problem}"
    );
}
