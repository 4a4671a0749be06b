//! Alfred on Redis over TLS (`rediss://`), against a private TLS-only `redis-server` with a
//! test CA: a WhatsApp message answered end to end, and start-up refused, naming the variable
//! to change, when the server's certificate cannot be trusted.

use alfred::app::App;
use alfred_testkit::redis_tls::{ClientAuth, TlsRedis};
use alfred_testkit::whatsapp;

use crate::helpers::{Backends, TestApp, DEADLINE, PHONE_ID};

/// Backends whose Redis is `redis` (over TLS); the rest as usual.
async fn backends_on(redis: &TlsRedis) -> Backends {
    let mut backends = Backends::new().await;
    backends.redis_url = redis.url();
    backends
}

fn path(file: std::path::PathBuf) -> String {
    file.display().to_string()
}

/// Why this Alfred refused to start.
async fn start_up_error(backends: &Backends, extra: &[(&str, String)]) -> String {
    match App::build_with(backends.settings(extra), Vec::new()).await {
        Ok(_) => panic!("Alfred started although the Redis certificate is not trusted"),
        Err(error) => format!("{error:#}"),
    }
}

#[actix_rt::test]
async fn a_whatsapp_message_is_answered_end_to_end_over_redis_with_tls() {
    let redis = TlsRedis::start(ClientAuth::No);
    let backends = backends_on(&redis).await;
    let app = TestApp::spawn_on(
        backends,
        &[("REDIS_CA_FILE", path(redis.ca_file()))],
        Vec::new(),
    )
    .await;
    let body = whatsapp::text_message(PHONE_ID, "15550002222", "Dana", "wamid.TLS1", "add figs");

    let response = app.post_signed(&body).await;

    assert_eq!(response.status(), 200);
    let sends = app.backends.graph.wait_for_requests(1, DEADLINE).await;
    assert_eq!(sends[0].body["to"], "15550002222");
    assert_eq!(sends[0].body["context"]["message_id"], "wamid.TLS1");
    assert_eq!(app.backends.grocery_items().await, vec!["figs"]);
}

#[actix_rt::test]
async fn an_untrusted_redis_certificate_refuses_start_up_naming_redis_ca_file() {
    let redis = TlsRedis::start(ClientAuth::No);
    let backends = backends_on(&redis).await;

    let without_ca = start_up_error(&backends, &[]).await;
    let other_ca =
        start_up_error(&backends, &[("REDIS_CA_FILE", path(redis.other_ca_file()))]).await;

    for error in [&without_ca, &other_ca] {
        assert!(error.contains("REDIS_URL"), "{error}");
        assert!(error.contains("REDIS_CA_FILE"), "{error}");
        assert!(error.contains("issuer is unknown"), "{error}");
    }
}

#[actix_rt::test]
async fn a_redis_certificate_for_another_host_refuses_start_up_as_a_name_mismatch() {
    let redis = TlsRedis::start_for(ClientAuth::No, &["redis.example.test"]);
    let backends = backends_on(&redis).await;

    let error = start_up_error(&backends, &[("REDIS_CA_FILE", path(redis.ca_file()))]).await;

    assert!(error.contains("REDIS_URL"), "{error}");
    assert!(error.contains("name mismatch"), "{error}");
}

#[actix_rt::test]
async fn mutual_tls_starts_with_the_client_certificate_and_is_refused_without() {
    let redis = TlsRedis::start(ClientAuth::Required);
    let backends = backends_on(&redis).await;
    let ca = ("REDIS_CA_FILE", path(redis.ca_file()));

    let error = start_up_error(&backends, std::slice::from_ref(&ca)).await;
    assert!(error.contains("REDIS_CLIENT_CERT_FILE"), "{error}");
    assert!(error.contains("requires a client certificate"), "{error}");

    let app = TestApp::spawn_on(
        backends,
        &[
            ca,
            ("REDIS_CLIENT_CERT_FILE", path(redis.client_cert_file())),
            ("REDIS_CLIENT_KEY_FILE", path(redis.client_key_file())),
        ],
        Vec::new(),
    )
    .await;
    let body = whatsapp::text_message(PHONE_ID, "15550003333", "Ari", "wamid.MTLS1", "add kale");
    assert_eq!(app.post_signed(&body).await.status(), 200);
    let sends = app.backends.graph.wait_for_requests(1, DEADLINE).await;
    assert_eq!(sends[0].body["context"]["message_id"], "wamid.MTLS1");
}
