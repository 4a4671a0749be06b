//! Shared by the Slack edge test suites: an in-process recording bus with an "unavailable"
//! switch (so each test sees exactly what the edge stored), an edge on a chosen clock, and
//! requests signed as Slack signs them.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::test as actix_test;
use actix_web::{web, App};
use alfred_actors::clock::{Clock, SystemClock};
use alfred_actors::messages::InboundEnvelope;
use alfred_actors::metrics::Metrics;
use alfred_adapters::slack::{configure, ResponseUrls, SlackEdge, SlackEdgeSettings, Workspaces};
use alfred_testkit::buses::RecordingBus;
use alfred_testkit::slack::{app_mention, event_id, sign};
use chrono::Utc;
use serde_json::Value;

pub const SECRET: &str = "test-slack-signing-secret";
pub const TEAM: &str = "T0TEAM001";
pub const BOT: &str = "U0ALFRED1";
pub const ANNA: &str = "U0ANNA001";
pub const CHANNEL: &str = "C0GENERAL";
pub const DM: &str = "D0ANNADM1";
pub const API_URL: &str = "https://slack.com/api";
pub const PREFIX: &str = "test:";
pub const INGEST: &str = "test:alfred-ingest";
pub const DEAD: &str = "test:alfred-ingest:dead";

/// Slack's documented signing example ("Verifying requests from Slack").
pub const DOC_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
pub const DOC_TIMESTAMP: i64 = 1_531_420_618;
/// The workspace of the documented example.
pub const DOC_TEAM: &str = "T1DC2JH3J";
pub const DOC_BODY: &str = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
pub const DOC_SIGNATURE: &str =
    "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

pub struct Harness {
    pub bus: Arc<RecordingBus>,
    pub response_urls: ResponseUrls,
    pub edge: web::Data<SlackEdge>,
    pub secret: &'static str,
    pub metrics: Metrics,
}

impl Harness {
    /// `alfred_refused_total{reason}`.
    pub fn refused(&self, reason: &str) -> u64 {
        self.metrics.refused.with_label_values(&[reason]).get()
    }

    /// What the edge stored on the ingest stream.
    pub fn envelopes(&self) -> Vec<InboundEnvelope> {
        self.bus.parsed(INGEST)
    }
}

pub fn harness_with(secret: &'static str, clock: Arc<dyn Clock>) -> Harness {
    harness_serving(secret, clock, Workspaces::fixed(vec![TEAM.to_owned()]))
}

/// An edge answering `workspaces`.
pub fn harness_serving(
    secret: &'static str,
    clock: Arc<dyn Clock>,
    workspaces: Workspaces,
) -> Harness {
    let bus = Arc::new(RecordingBus::default());
    let response_urls = ResponseUrls::new();
    let settings = SlackEdgeSettings {
        key_prefix: PREFIX.into(),
        ingest_partitions: 0,
        signing_secret: Some(secret.into()),
        api_url: API_URL.into(),
        body_limit: 64 * 1024,
        workspaces,
    };
    let metrics = Metrics::new().unwrap();
    let edge = SlackEdge::new(
        settings,
        bus.clone(),
        &metrics,
        clock,
        response_urls.clone(),
    );
    Harness {
        bus,
        response_urls,
        edge: web::Data::new(edge.unwrap()),
        secret,
        metrics,
    }
}

/// An edge on the real clock.
pub fn harness() -> Harness {
    harness_with(SECRET, Arc::new(SystemClock))
}

/// A request as Slack sends it.
pub struct Post<'a> {
    pub path: &'a str,
    pub body: &'a str,
    pub timestamp: Option<String>,
    pub signature: Option<String>,
    pub retry_num: Option<&'a str>,
}

impl<'a> Post<'a> {
    /// Signed with the harness's secret at the current time.
    pub fn signed(harness: &Harness, path: &'a str, body: &'a str) -> Self {
        let now = Utc::now().timestamp();
        Post {
            path,
            body,
            timestamp: Some(now.to_string()),
            signature: Some(sign(harness.secret, now, body.as_bytes())),
            retry_num: None,
        }
    }
}

impl Post<'static> {
    /// Slack's documented slash command, signed with [`DOC_SECRET`] at [`DOC_TIMESTAMP`].
    pub fn documented() -> Self {
        Post {
            path: "/slack/commands",
            body: DOC_BODY,
            timestamp: Some(DOC_TIMESTAMP.to_string()),
            signature: Some(DOC_SIGNATURE.to_owned()),
            retry_num: None,
        }
    }
}

pub async fn send(harness: &Harness, post: Post<'_>) -> (StatusCode, String) {
    let edge = harness.edge.clone();
    let app = actix_test::init_service(App::new().configure(|cfg| configure(cfg, edge))).await;
    let content_type = if post.path.ends_with("commands") {
        "application/x-www-form-urlencoded"
    } else {
        "application/json"
    };
    let mut request = actix_test::TestRequest::post()
        .uri(post.path)
        .insert_header(("content-type", content_type));
    if let Some(timestamp) = post.timestamp {
        request = request.insert_header(("x-slack-request-timestamp", timestamp));
    }
    if let Some(signature) = post.signature {
        request = request.insert_header(("x-slack-signature", signature));
    }
    if let Some(retry_num) = post.retry_num {
        request = request
            .insert_header(("x-slack-retry-num", retry_num))
            .insert_header(("x-slack-retry-reason", "http_timeout"));
    }
    let response =
        actix_test::call_service(&app, request.set_payload(post.body.to_owned()).to_request())
            .await;
    let status = response.status();
    let body = actix_test::read_body(response).await;
    (status, String::from_utf8(body.to_vec()).unwrap())
}

pub async fn post_event(harness: &Harness, body: &str) -> (StatusCode, String) {
    send(harness, Post::signed(harness, "/slack/events", body)).await
}

pub async fn post_command(harness: &Harness, body: &str) -> (StatusCode, Value) {
    let (status, answer) = send(harness, Post::signed(harness, "/slack/commands", body)).await;
    (status, serde_json::from_str(&answer).unwrap_or(Value::Null))
}

pub fn mention(text: &str) -> String {
    app_mention(TEAM, &event_id(), BOT, CHANNEL, ANNA, text)
}
