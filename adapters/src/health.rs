//! Liveness, readiness and metrics endpoints of the public listener, and the middleware that
//! counts every HTTP request by route and status.
//!
//! * `GET /healthz` — the process is alive (200 `ok`);
//! * `GET /readyz` — Redis, Postgres and the supervision tree are healthy (200), or which one
//!   is not (503, JSON naming each check);
//! * `GET /metrics` — Prometheus text format.
//!
//! `/readyz` answers from the last report of a background task that checks every
//! [`REFRESH_EVERY`], never with a connection per request: the endpoint is public, and a flood
//! of probes must not take the Redis and Postgres connections that commits need. A report
//! older than [`STALE_AFTER`] (the task stalled) counts as not ready.
//!
//! Ephemeral mode with WhatsApp or Slack configured answers webhooks but keeps nothing across
//! a restart: it is reported not ready, with a `durability` check saying so
//! (docs/adr/2026-12-02-readiness-and-ephemeral-platforms.md).

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use alfred_actors::bus::Bus;
use alfred_actors::metrics::Metrics;
use alfred_actors::store::Store;
use serde::Serialize;

/// Reports whether the supervision tree is healthy (no escalation, no failed permanent child).
pub type TreeCheck = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// How often the background task checks Redis, Postgres and the supervision tree.
pub const REFRESH_EVERY: Duration = Duration::from_secs(1);
/// Longest a store's check may take before it counts as failed.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// A report older than this is not trusted: `/readyz` answers 503.
pub const STALE_AFTER: Duration = Duration::from_secs(10);

/// What `/readyz` checks, and the last report of the background task.
#[derive(Clone)]
pub struct Readiness {
    pub bus: Arc<dyn Bus>,
    pub store: Arc<dyn Store>,
    pub tree: TreeCheck,
    /// Ephemeral mode with a platform configured: why nothing it answers is kept (the
    /// `durability` check fails with this).
    pub not_durable: Option<String>,
    last: Arc<RwLock<Option<(Instant, ReadyReport)>>>,
}

#[derive(Clone, Serialize)]
struct Check {
    name: &'static str,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Clone, Serialize)]
struct ReadyReport {
    ready: bool,
    checks: Vec<Check>,
}

impl Readiness {
    pub fn new(
        bus: Arc<dyn Bus>,
        store: Arc<dyn Store>,
        tree: TreeCheck,
        not_durable: Option<String>,
    ) -> Self {
        Readiness {
            bus,
            store,
            tree,
            not_durable,
            last: Arc::new(RwLock::new(None)),
        }
    }

    /// Checks everything once and keeps the report for `/readyz`.
    pub async fn refresh(&self) {
        let report = self.check().await;
        let mut last = self.last.write().unwrap_or_else(|e| e.into_inner());
        *last = Some((Instant::now(), report));
    }

    /// Refreshes the report every [`REFRESH_EVERY`] for as long as the actix system runs. Must
    /// run inside one.
    pub fn spawn_refresher(&self) {
        let readiness = self.clone();
        actix_web::rt::spawn(async move {
            let mut ticks = tokio::time::interval(REFRESH_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                readiness.refresh().await;
            }
        });
    }

    async fn check(&self) -> ReadyReport {
        let timed_out = || format!("no answer within {} s", CHECK_TIMEOUT.as_secs());
        let (bus, store) = futures::join!(
            tokio::time::timeout(CHECK_TIMEOUT, self.bus.ping()),
            tokio::time::timeout(CHECK_TIMEOUT, self.store.ping()),
        );
        let bus = bus
            .map_err(|_| timed_out())
            .and_then(|r| r.map_err(|e| e.to_string()));
        let store = store
            .map_err(|_| timed_out())
            .and_then(|r| r.map_err(|e| e.to_string()));
        let mut checks = vec![
            check("redis", bus),
            check("postgres", store),
            check("supervisors", (self.tree)()),
        ];
        if let Some(why) = &self.not_durable {
            checks.push(check("durability", Err(why.clone())));
        }
        let ready = checks.iter().all(|check| check.ok);
        ReadyReport { ready, checks }
    }

    /// The last report, or a not-ready one when there is none yet or it is stale.
    fn report(&self) -> ReadyReport {
        let last = self.last.read().unwrap_or_else(|e| e.into_inner());
        match last.as_ref() {
            Some((at, report)) if at.elapsed() <= STALE_AFTER => report.clone(),
            Some(_) => not_checked("the readiness checks have not run for a while"),
            None => not_checked("the readiness checks have not run yet"),
        }
    }
}

fn check(name: &'static str, result: Result<(), String>) -> Check {
    Check {
        name,
        ok: result.is_ok(),
        error: result.err(),
    }
}

fn not_checked(why: &str) -> ReadyReport {
    ReadyReport {
        ready: false,
        checks: vec![check("checks", Err(why.to_owned()))],
    }
}

/// Mounts `/healthz`, `/readyz` and `/metrics`.
pub fn configure(
    cfg: &mut web::ServiceConfig,
    readiness: web::Data<Readiness>,
    metrics: web::Data<Metrics>,
) {
    cfg.app_data(readiness)
        .app_data(metrics)
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .route("/metrics", web::get().to(render_metrics));
}

// Probes and scrapes arrive every few seconds: their spans are debug so that they never
// flood the trace backend.
#[tracing::instrument(name = "healthz", level = "debug", skip_all)]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok")
}

/// Answers from the background task's last report: no I/O here.
#[tracing::instrument(name = "readyz", level = "debug", skip_all)]
async fn readyz(readiness: web::Data<Readiness>) -> HttpResponse {
    let report = readiness.report();
    if report.ready {
        HttpResponse::Ok().json(report)
    } else {
        HttpResponse::ServiceUnavailable().json(report)
    }
}

#[tracing::instrument(name = "metrics", level = "debug", skip_all)]
async fn render_metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}

/// Middleware: counts each request in `alfred_http_requests_total{route,status}` and its
/// duration, labelled by the matched route pattern so the label set stays bounded.
pub async fn count_requests(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = request.app_data::<web::Data<Metrics>>().cloned();
    let response = next.call(request).await?;
    if let Some(metrics) = metrics {
        let route = response
            .request()
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned());
        let status = response.status();
        metrics
            .http_requests
            .with_label_values(&[route.as_str(), status.as_str()])
            .inc();
        metrics
            .http_duration
            .with_label_values(&[route.as_str()])
            .observe(started.elapsed().as_secs_f64());
    }
    Ok(response)
}
