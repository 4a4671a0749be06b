//! Liveness, readiness and metrics endpoints of the public listener, and the middleware that
//! counts every HTTP request by route and status.
//!
//! * `GET /healthz` — the process is alive (200 `ok`);
//! * `GET /readyz` — Redis, Postgres and the supervision tree are healthy (200), or which one
//!   is not (503, JSON naming each check);
//! * `GET /metrics` — Prometheus text format.

use std::sync::Arc;
use std::time::Instant;

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

/// What `/readyz` checks.
#[derive(Clone)]
pub struct Readiness {
    pub bus: Arc<dyn Bus>,
    pub store: Arc<dyn Store>,
    pub tree: TreeCheck,
    /// Ephemeral mode: the bus and store are in process, and `/readyz` says so.
    pub ephemeral: bool,
}

#[derive(Serialize)]
struct Check {
    name: &'static str,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

#[derive(Serialize)]
struct ReadyReport {
    ready: bool,
    checks: Vec<Check>,
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

#[tracing::instrument(name = "readyz", level = "debug", skip_all)]
async fn readyz(readiness: web::Data<Readiness>) -> HttpResponse {
    let (bus, store) = futures::join!(readiness.bus.ping(), readiness.store.ping());
    let checks = vec![
        Check {
            name: "redis",
            ok: bus.is_ok(),
            error: bus.err().map(|e| e.to_string()),
        },
        Check {
            name: "postgres",
            ok: store.is_ok(),
            error: store.err().map(|e| e.to_string()),
        },
        match (readiness.tree)() {
            Ok(()) => Check {
                name: "supervisors",
                ok: true,
                error: None,
            },
            Err(error) => Check {
                name: "supervisors",
                ok: false,
                error: Some(error),
            },
        },
    ];
    let ready = checks.iter().all(|check| check.ok);
    let report = ReadyReport { ready, checks };
    if ready {
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
