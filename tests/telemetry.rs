//! Health and telemetry of the real `alfred` binary (issue 2, item 8), on real Redis and
//! Postgres, a fake Graph API and a fake OTLP/HTTP collector:
//!
//! * one trace follows a message from the webhook through the orchestrator to the outbound
//!   send, across both streams, and is exported over OTLP (also when Alfred stops);
//! * `/metrics` counts requests, ingested, processed and dead-lettered messages, actor restarts
//!   and sends; `/readyz` names what is not ready;
//! * JSON logs carry the instance and never a secret;
//! * in ephemeral mode the start-up log says where the playground and `alfred chat` are.

#[path = "telemetry/collector.rs"]
mod collector;
#[path = "telemetry/edges.rs"]
mod edges;
#[path = "telemetry/mail_privacy.rs"]
mod mail_privacy;
#[path = "telemetry/process.rs"]
mod process;
#[path = "telemetry/startup.rs"]
mod startup;
#[path = "support/mod.rs"]
mod support;

use alfred_testkit::redis::PrivateRedis;
use alfred_testkit::whatsapp::{text_message, wamid};
use collector::{Collector, RecordedSpan};
use process::{eventually, metric, Alfred, Backends, CREDENTIALS, DEADLINE};

const ANNA: &str = "491701111111";

/// Posts "add bananas" from Anna and waits for the one reply at the fake Graph API.
async fn add_bananas(alfred: &Alfred, backends: &Backends) -> String {
    let wamid = wamid();
    let body = text_message(CREDENTIALS.phone_id, ANNA, "Anna", &wamid, "add bananas");
    assert_eq!(alfred.post_signed(&body).await.status(), 200);
    let sends = backends.graph.wait_for_requests(1, DEADLINE).await;
    assert_eq!(sends.len(), 1, "expected one reply, got {sends:?}");
    assert_eq!(sends[0].reply_to(), Some(wamid.as_str()));
    wamid
}

/// The webhook, orchestrate, skill and send spans of the message `wamid`, once all are exported.
async fn spans_of_message(collector: &Collector, wamid: &str) -> [RecordedSpan; 4] {
    eventually(
        "the webhook, orchestrate, skill and send spans at the collector",
        || {
            let spans = collector.spans();
            let orchestrate = spans.iter().find(|span| {
                span.name == "orchestrate"
                    && span.attributes.get("message_id").map(String::as_str) == Some(wamid)
            });
            let found = orchestrate.and_then(|orchestrate| {
                let webhook = spans.iter().find(|span| span.name == "whatsapp_webhook")?;
                let skill = spans.iter().find(|span| span.name == "skill")?;
                let send = spans.iter().find(|span| span.name == "send")?;
                Some([
                    webhook.clone(),
                    orchestrate.clone(),
                    skill.clone(),
                    send.clone(),
                ])
            });
            async move { found }
        },
    )
    .await
}

/// True when `ancestor` is `span`'s parent, grandparent, … among `spans`.
fn descends_from(span: &RecordedSpan, ancestor: &RecordedSpan, spans: &[RecordedSpan]) -> bool {
    let mut parent = span.parent_span_id.clone();
    while let Some(id) = parent {
        if id == ancestor.span_id {
            return true;
        }
        parent = spans
            .iter()
            .find(|s| s.span_id == id)
            .and_then(|s| s.parent_span_id.clone());
    }
    false
}

fn assert_one_linked_trace(
    spans: &[RecordedSpan],
    [webhook, orchestrate, skill, send]: &[RecordedSpan; 4],
) {
    assert_eq!(
        webhook.parent_span_id, None,
        "the webhook span starts the trace"
    );
    assert_eq!(
        orchestrate.trace_id, webhook.trace_id,
        "orchestrate is in the webhook's trace"
    );
    assert_eq!(
        send.trace_id, webhook.trace_id,
        "send is in the webhook's trace"
    );
    assert_eq!(
        orchestrate.parent_span_id.as_deref(),
        Some(webhook.span_id.as_str()),
        "orchestrate is a child of the webhook span (through alfred-ingest)"
    );
    assert!(
        skill.trace_id == webhook.trace_id && descends_from(skill, orchestrate, spans),
        "the skill actor's span descends from orchestrate: {skill:?} {orchestrate:?}"
    );
    assert!(
        descends_from(send, orchestrate, spans),
        "send descends from orchestrate (through the outbox row and alfred-outbox): {send:?} {orchestrate:?}"
    );
    assert_eq!(
        spans
            .iter()
            .filter(|s| s.trace_id == webhook.trace_id && s.parent_span_id.is_none())
            .count(),
        1,
        "the trace has exactly one root"
    );
}

#[tokio::test]
async fn one_trace_follows_a_message_from_webhook_to_outbound_send() {
    let collector = Collector::start().await;
    let backends = Backends::new().await;
    let alfred = Alfred::start(backends.env(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
        // The batch exporter's schedule, read from the environment by opentelemetry_sdk.
        ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
    ]))
    .await;

    let wamid = add_bananas(&alfred, &backends).await;

    let linked = spans_of_message(&collector, &wamid).await;
    assert_one_linked_trace(&collector.spans(), &linked);
    assert!(collector.refused().is_empty(), "{:?}", collector.refused());
    let resource = &linked[0].resource;
    assert_eq!(
        resource.get("service.name").map(String::as_str),
        Some("alfred")
    );
    assert_eq!(
        resource.get("alfred.instance").map(String::as_str),
        Some("home")
    );
    backends.db.drop().await;
}

#[tokio::test]
async fn spans_are_exported_when_alfred_stops_before_the_exporters_schedule() {
    let collector = Collector::start().await;
    let backends = Backends::new().await;
    let mut alfred = Alfred::start(backends.env(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
        // Far beyond the test's deadline: only the flush on shutdown can deliver the spans.
        ("OTEL_BSP_SCHEDULE_DELAY", "600000".to_owned()),
    ]))
    .await;
    let wamid = add_bananas(&alfred, &backends).await;
    // The send span closes after the Graph API answered; wait until the outbox row says sent.
    eventually("the send to be counted", || {
        let metrics = alfred.metrics();
        async move {
            let text = metrics.await;
            metric(&text, "alfred_outbound_sends_total", &[("result", "sent")])
                .filter(|n| *n >= 1.0)
        }
    })
    .await;
    assert!(
        collector.spans().is_empty(),
        "nothing exported before the shutdown"
    );

    let status = alfred.terminate().await;

    assert!(
        status.success(),
        "alfred stopped cleanly on SIGTERM: {status:?}\n{}",
        alfred.stderr()
    );
    let linked = spans_of_message(&collector, &wamid).await;
    assert_one_linked_trace(&collector.spans(), &linked);
    backends.db.drop().await;
}

#[tokio::test]
async fn metrics_count_a_handled_message_from_request_to_send() {
    let backends = Backends::new().await;
    let alfred = Alfred::start(backends.env(&[])).await;

    add_bananas(&alfred, &backends).await;

    let expected: [(&str, &[(&str, &str)]); 4] = [
        (
            "alfred_http_requests_total",
            &[("route", "/webhook"), ("status", "200")],
        ),
        (
            "alfred_messages_ingested_total",
            &[("platform", "whatsapp")],
        ),
        (
            "alfred_messages_processed_total",
            &[("result", "committed")],
        ),
        (
            "alfred_outbound_sends_total",
            &[("platform", "whatsapp"), ("result", "sent")],
        ),
    ];
    let text = eventually("every counter of the message in /metrics", || {
        let metrics = alfred.metrics();
        async move {
            let text = metrics.await;
            expected
                .iter()
                .all(|(name, labels)| metric(&text, name, labels) == Some(1.0))
                .then_some(text)
        }
    })
    .await;
    assert_eq!(
        metric(&text, "alfred_messages_dead_lettered_total", &[]).unwrap_or(0.0),
        0.0
    );
    assert_eq!(
        metric(&text, "alfred_actor_restarts_total", &[]).unwrap_or(0.0),
        0.0
    );
    backends.db.drop().await;
}

#[tokio::test]
async fn metrics_count_a_dead_lettered_message_and_an_actor_restart() {
    let backends = Backends::new().await;
    let alfred = Alfred::start(backends.env(&[])).await;

    // Signed but not a notification: dead-lettered and answered 200 (a retry cannot succeed).
    assert_eq!(alfred.post_signed("{\"object\": 42").await.status(), 200);
    let restart = alfred
        .http
        .post(format!(
            "{}/admin/actors/orchestrator/restart",
            alfred.admin
        ))
        .bearer_auth(CREDENTIALS.admin_key)
        .send()
        .await
        .unwrap();
    assert!(
        restart.status().is_success(),
        "restart answered {}",
        restart.status()
    );

    eventually("the dead letter and the restart in /metrics", || {
        let metrics = alfred.metrics();
        async move {
            let text = metrics.await;
            let dead = metric(
                &text,
                "alfred_messages_dead_lettered_total",
                &[("stream", "alfred-ingest:dead")],
            );
            let restarts = metric(
                &text,
                "alfred_actor_restarts_total",
                &[("actor", "orchestrator")],
            );
            (dead == Some(1.0) && restarts == Some(1.0)).then_some(())
        }
    })
    .await;
    backends.db.drop().await;
}

#[tokio::test]
async fn readyz_is_ok_when_everything_is_up_and_names_redis_when_it_is_down() {
    let mut redis = PrivateRedis::start();
    let backends = Backends::new().await;
    let alfred = Alfred::start(backends.env(&[("REDIS_URL", redis.url())])).await;

    let ready = alfred.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let report: serde_json::Value = ready.json().await.unwrap();
    let checks = report["checks"].as_array().unwrap();
    let names: Vec<&str> = checks.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["redis", "postgres", "supervisors"]);
    assert!(checks.iter().all(|c| c["ok"] == true), "{report}");
    assert_eq!(alfred.get("/healthz").await.status(), 200);

    redis.stop();

    let report = eventually("/readyz to answer 503", || {
        let ready = alfred.get("/readyz");
        async move {
            let ready = ready.await;
            (ready.status() == 503).then_some(ready)
        }
    })
    .await;
    let report: serde_json::Value = report.json().await.unwrap();
    let check = |name: &str| {
        report["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(report["ready"], false);
    assert_eq!(check("redis")["ok"], false, "{report}");
    assert!(check("redis")["error"].is_string(), "{report}");
    assert_eq!(check("postgres")["ok"], true, "{report}");
    assert_eq!(alfred.get("/healthz").await.status(), 200, "still alive");

    redis.start_again();
    eventually("/readyz to answer 200 again", || {
        let ready = alfred.get("/readyz");
        async move { (ready.await.status() == 200).then_some(()) }
    })
    .await;
    backends.db.drop().await;
}

#[tokio::test]
async fn json_logs_carry_the_instance_and_never_a_secret() {
    let backends = Backends::new().await;
    // Trust auth ignores the password, so the URL can carry one to prove it is never logged.
    let db_password = "telemetry-db-password-c3e1";
    let database_url =
        backends
            .db
            .url()
            .replacen("postgres@", &format!("postgres:{db_password}@"), 1);
    assert!(
        database_url.contains(db_password),
        "test URL has the user 'postgres'"
    );
    let alfred = Alfred::start(backends.env(&[("DATABASE_URL", database_url)])).await;

    add_bananas(&alfred, &backends).await;
    // A wrong signature and a wrong verify token are logged too: still no secret.
    let tampered = alfred
        .http
        .post(format!("{}/webhook", alfred.base))
        .header("x-hub-signature-256", format!("sha256={}", "0".repeat(64)))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status(), 403);
    let handshake = alfred
        .get("/webhook?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1")
        .await;
    assert_eq!(handshake.status(), 403);
    eventually("the refused handshake to be logged", || {
        let logged = alfred
            .stdout()
            .iter()
            .any(|line| line.contains("wrong token"));
        async move { logged.then_some(()) }
    })
    .await;

    let lines = alfred.stdout();
    assert!(lines.len() >= 3, "{lines:?}");
    for line in &lines {
        let object: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"));
        assert_eq!(object["instance"], "home", "{line}");
        assert!(
            object["level"].is_string() && object["fields"].is_object(),
            "{line}"
        );
    }
    let everything = format!("{}\n{}", lines.join("\n"), alfred.stderr());
    for secret in [
        CREDENTIALS.app_secret,
        CREDENTIALS.meta_token,
        CREDENTIALS.verify_token,
        CREDENTIALS.admin_key,
        db_password,
    ] {
        assert!(
            !everything.contains(secret),
            "a secret reached the logs: {secret}"
        );
    }
    backends.db.drop().await;
}
