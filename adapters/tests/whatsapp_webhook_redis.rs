//! The WhatsApp webhook on real Redis: what a 200 promises is really on the stream, a 403
//! leaves it untouched, and a Redis outage answers 503 until Redis is back.
//!
//! Each test owns a unique key prefix on the shared test Redis; the outage test stops a
//! private `redis-server` of its own.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{test, web, App};
use alfred_actors::bus::redis::RedisBus;
use alfred_actors::bus::{Bus, ReadFrom};
use alfred_actors::messages::{InboundEnvelope, InboundKind};
use alfred_actors::metrics::Metrics;
use alfred_actors::names;
use alfred_adapters::whatsapp::{configure, WebhookSettings, WhatsAppWebhook, DEFAULT_BODY_LIMIT};
use alfred_testkit::redis::{test_redis_url, unique_prefix, PrivateRedis};
use alfred_testkit::whatsapp::{sign, text_message, Notification};

const PHONE_ID: &str = "106540352242922";
const APP_SECRET: &str = "test-app-secret";

struct Harness {
    bus: Arc<RedisBus>,
    prefix: String,
    webhook: web::Data<WhatsAppWebhook>,
}

impl Harness {
    fn on(url: &str) -> Harness {
        let bus = Arc::new(RedisBus::connect(url).unwrap());
        let prefix = unique_prefix();
        let settings = WebhookSettings {
            key_prefix: prefix.clone(),
            ingest_partitions: 0,
            app_secret: APP_SECRET.into(),
            verify_token: "verify".into(),
            phone_number_id: PHONE_ID.into(),
            body_limit: DEFAULT_BODY_LIMIT,
        };
        let webhook =
            WhatsAppWebhook::new(settings, bus.clone(), &Metrics::new().unwrap()).unwrap();
        Harness {
            bus,
            prefix,
            webhook: web::Data::new(webhook),
        }
    }

    fn stream(&self, name: &str) -> String {
        names::key(&self.prefix, name)
    }

    async fn post(&self, body: &str, signature: &str) -> StatusCode {
        let app =
            test::init_service(App::new().configure(|cfg| configure(cfg, self.webhook.clone())))
                .await;
        let request = test::TestRequest::post()
            .uri("/webhook")
            .insert_header(("x-hub-signature-256", signature))
            .set_payload(body.to_owned())
            .to_request();
        test::call_service(&app, request).await.status()
    }

    async fn post_signed(&self, body: &str) -> StatusCode {
        self.post(body, &sign(APP_SECRET, body.as_bytes())).await
    }

    /// Every envelope on the ingest stream, read through a consumer group as the readers do.
    async fn stored_envelopes(&self) -> Vec<InboundEnvelope> {
        let stream = self.stream(names::INGEST_STREAM);
        self.bus
            .ensure_group(&stream, names::INGEST_GROUP)
            .await
            .unwrap();
        let entries = self
            .bus
            .read(
                &stream,
                names::INGEST_GROUP,
                "test",
                ReadFrom::New,
                100,
                Duration::from_millis(10),
            )
            .await
            .unwrap();
        entries
            .iter()
            .map(|entry| serde_json::from_str(&entry.payload).unwrap())
            .collect()
    }
}

#[actix_web::test]
async fn a_signed_batch_is_on_the_redis_stream_in_order_once_the_webhook_answers_200() {
    let harness = Harness::on(&test_redis_url());
    let body = Notification::new(PHONE_ID)
        .text("491701111111", "Anna", "wamid.A1", "add milk")
        .text("491702222222", "Ben", "wamid.B1", "add eggs")
        .text("491701111111", "Anna", "wamid.A2", "list")
        .build();

    assert_eq!(harness.post_signed(&body).await, StatusCode::OK);

    let envelopes = harness.stored_envelopes().await;
    let ids: Vec<&str> = envelopes.iter().map(|e| e.message_id.as_str()).collect();
    assert_eq!(ids, ["wamid.A1", "wamid.B1", "wamid.A2"]);
    assert_eq!(
        envelopes[0].kind,
        InboundKind::Text {
            body: "add milk".into()
        }
    );
}

#[actix_web::test]
async fn a_tampered_or_unsigned_body_leaves_the_redis_stream_unchanged() {
    let harness = Harness::on(&test_redis_url());
    let stream = harness.stream(names::INGEST_STREAM);
    let first = text_message(PHONE_ID, "491701111111", "Anna", "wamid.A1", "add milk");
    assert_eq!(harness.post_signed(&first).await, StatusCode::OK);
    let before = harness.bus.len(&stream).await.unwrap();

    let body = text_message(PHONE_ID, "491701111111", "Anna", "wamid.A2", "add bananas");
    let signature = sign(APP_SECRET, body.as_bytes());
    let tampered = body.replace("bananas", "caviar!");
    assert_eq!(
        harness.post(&tampered, &signature).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(harness.post(&body, "").await, StatusCode::FORBIDDEN);

    assert_eq!(before, 1);
    assert_eq!(harness.bus.len(&stream).await.unwrap(), before);
}

#[actix_web::test]
async fn a_signed_unparseable_body_lands_on_the_redis_dead_letter_stream() {
    let harness = Harness::on(&test_redis_url());

    assert_eq!(
        harness.post_signed(r#"{"object":"page"}"#).await,
        StatusCode::OK
    );

    let dead = harness.stream(names::INGEST_DEAD_STREAM);
    assert_eq!(harness.bus.len(&dead).await.unwrap(), 1);
    assert_eq!(
        harness
            .bus
            .len(&harness.stream(names::INGEST_STREAM))
            .await
            .unwrap(),
        0
    );
}

#[actix_web::test]
async fn with_redis_stopped_the_webhook_answers_503_and_accepts_again_once_redis_is_back() {
    let mut redis = PrivateRedis::start();
    let harness = Harness::on(&redis.url());
    let body = text_message(PHONE_ID, "491701111111", "Anna", "wamid.A1", "add bananas");
    redis.stop();

    assert_eq!(
        harness.post_signed(&body).await,
        StatusCode::SERVICE_UNAVAILABLE
    );

    redis.start_again();
    // Redis is back; the pools reconnect on the next request, no restart needed.
    alfred_testkit::eventually(
        "the webhook to answer 200",
        Duration::from_secs(10),
        || async { (harness.post_signed(&body).await == StatusCode::OK).then_some(()) },
    )
    .await;
    let ids: Vec<String> = harness
        .stored_envelopes()
        .await
        .into_iter()
        .map(|e| e.message_id)
        .collect();
    // A 503 promises nothing either way: a redelivery may be stored twice (the inbox dedupes).
    assert!(
        !ids.is_empty() && ids.iter().all(|id| id == "wamid.A1"),
        "{ids:?}"
    );
}
