//! The admin API, on its own listener (`ADMIN_ADDR`), for operators.
//!
//! Every request needs `Authorization: Bearer {ADMIN_API_KEY}` (or `{ADMIN_READONLY_KEY}`,
//! which may only `GET`: anything else is answered 403), compared in constant time (as SHA-256
//! digests, so not even the key's length shows, [`crate::admin_auth`]) and a refusal logged as a
//! WARN; without it the answer is 401. An address that sends too many wrong keys is answered 429
//! for a while ([`crate::admin_guard`]); the admin page's login form counts there too. With no
//! key configured the admin API does not listen at all.
//!
//! * `GET /admin/actors` — the live supervision tree as JSON;
//! * `POST /admin/actors/{name}/restart` — restarts one actor (404 for an unknown name);
//! * `POST /admin/actors/{name}/stop`, `POST /admin/actors/{name}/start`;
//! * `GET /admin/jobs` — the households' scheduled jobs and the runs that were missed;
//! * `GET /admin/inbox` — how the work inbox's polls have gone (404 without `IMAP_HOST`);
//! * `GET /admin/clock`, `POST /admin/clock` — read, and with `CLOCK=manual` set
//!   (`{"now": "2026-11-26T07:00:00Z"}`) or advance (`{"advance_secs": 3600}`), the runtime's clock;
//! * `GET /admin/streams`, `POST /admin/streams/{ingest|outbox}/{pause|resume}` — stream health,
//!   and pausing consumption for the deployment ([`crate::admin_streams`]);
//! * `/admin/dead-letters…` — list, show, replay and discard dead letters (`admin_dead_letters.rs`, on the service [`alfred_actors::dead_letters`]).

// A child module (it uses the key check), in a file of its own beside this one.
#[path = "admin_dead_letters.rs"]
pub(crate) mod dead_letters;

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use std::sync::Arc;
use std::time::Instant;

use crate::admin_auth::{AdminKeys, Role};
use crate::admin_guard::{self, FailedAttempts, Failure};
use crate::admin_streams::{self, StreamControls};

use alfred_actors::clock::{Clock, ManualClock};
use alfred_actors::scheduler::store::JobStore;
use alfred_actors::scheduler::{due_instant, ScheduledJob};
use alfred_actors::supervision::Supervisor;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use std::net::IpAddr;
use std::time::Duration;

/// State of the admin API.
pub struct Admin {
    /// `ADMIN_API_KEY` and `ADMIN_READONLY_KEY`.
    pub keys: AdminKeys,
    pub root: Supervisor,
    /// The runtime's clock.
    pub clock: Arc<dyn Clock>,
    /// The same clock when it is manual: only then can the admin API move it.
    pub manual_clock: Option<ManualClock>,
    /// The scheduled jobs, and where missed runs are recorded.
    pub jobs: Vec<ScheduledJob>,
    pub jobs_store: Arc<dyn JobStore>,
    /// The work inbox's poll status, when the work inbox is configured.
    pub inbox: Option<Arc<dyn Fn() -> serde_json::Value + Send + Sync>>,
    /// Wrong keys by client address, to slow guessing down.
    pub attempts: FailedAttempts,
    /// The streams' health, pause and resume.
    pub streams: StreamControls,
    /// The dead letters, with durable stores (none in ephemeral mode).
    pub dead_letters: Option<Arc<alfred_actors::dead_letters::DeadLetters>>,
}

impl Admin {
    /// Nothing for a request with a right bearer key whose role allows its method; otherwise
    /// its refusal: 401, 403 for the read-only key on anything but a read, or 429 with
    /// `Retry-After` while its address has used up its failures ([`admin_guard`]).
    fn refusal(&self, request: &HttpRequest) -> Option<HttpResponse> {
        let given = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "));
        let peer = request.peer_addr().map(|addr| addr.ip());
        match self.check_key(peer, given, request.path()) {
            Ok(role) if role.allows(request.method()) => None,
            Ok(_) => Some(HttpResponse::Forbidden().json(
                json!({ "error": "the read-only key may only read; this needs ADMIN_API_KEY" }),
            )),
            Err(KeyRefusal::SlowedDown(wait)) => Some(
                HttpResponse::TooManyRequests()
                    .insert_header((header::RETRY_AFTER, retry_after_secs(wait).to_string()))
                    .json(json!({ "error": "too many wrong keys from this address; try again later" })),
            ),
            Err(KeyRefusal::Wrong) => Some(unauthorized()),
        }
    }

    /// The role of the key `given` by `peer`, through the per-address slow-down: a blocked
    /// address is refused whatever it sends, a wrong key counts against its address, a right
    /// one clears it. Both the bearer API and the page's login form go through here.
    pub(crate) fn check_key(
        &self,
        peer: Option<IpAddr>,
        given: Option<&str>,
        path: &str,
    ) -> Result<Role, KeyRefusal> {
        let now = Instant::now();
        if let Some(wait) = peer.and_then(|peer| self.attempts.blocked_for(peer, now)) {
            tracing::debug!(?peer, %path, "Refused an admin request from an address that is slowed down.");
            return Err(KeyRefusal::SlowedDown(wait));
        }
        if let Some(role) = given.and_then(|given| self.keys.role_of(given)) {
            if let Some(peer) = peer {
                self.attempts.succeeded(peer);
            }
            return Ok(role);
        }
        // Never the key itself: only who tried and where.
        tracing::warn!(
            ?peer,
            %path,
            key_given = given.is_some(),
            "Refused an admin request without a right key."
        );
        if let Some(peer) = peer {
            if self.attempts.failed(peer, now) == Failure::Blocked {
                tracing::warn!(
                    %peer,
                    failures = admin_guard::FAILURES_ALLOWED,
                    window_secs = admin_guard::WINDOW.as_secs(),
                    "Slowing down admin requests from an address that sent too many wrong keys; it gets 429 until its window passes."
                );
            }
        }
        Err(KeyRefusal::Wrong)
    }
}

/// Why a key was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyRefusal {
    /// Not one of the keys (or none given).
    Wrong,
    /// The address used up its failures; it may try again after this long.
    SlowedDown(Duration),
}

/// Whole seconds for `Retry-After`, rounded up so a client never comes back too early.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

/// A request to move the manual clock.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveClock {
    now: Option<DateTime<Utc>>,
    advance_secs: Option<i64>,
}

/// Mounts the admin routes.
pub fn configure(cfg: &mut web::ServiceConfig, admin: web::Data<Admin>) {
    cfg.app_data(admin)
        .route("/admin/actors", web::get().to(list_actors))
        .route(
            "/admin/actors/{name:.+}/restart",
            web::post().to(restart_actor),
        )
        .route("/admin/actors/{name:.+}/stop", web::post().to(stop_actor))
        .route("/admin/actors/{name:.+}/start", web::post().to(start_actor))
        .route("/admin/jobs", web::get().to(list_jobs))
        .route("/admin/inbox", web::get().to(inbox_status))
        .route("/admin/clock", web::get().to(read_clock))
        .route("/admin/clock", web::post().to(move_clock))
        // Streams: health, pause and resume (admin_streams.rs).
        .route("/admin/streams", web::get().to(list_streams))
        .route(
            "/admin/streams/{stream}/{action}",
            web::post().to(stream_action),
        )
        .configure(dead_letters::routes);
}

async fn list_streams(request: HttpRequest, admin: web::Data<Admin>) -> HttpResponse {
    match admin.refusal(&request) {
        Some(refusal) => refusal,
        None => admin_streams::list(&admin.streams).await,
    }
}

async fn stream_action(
    request: HttpRequest,
    admin: web::Data<Admin>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    if let Some(refusal) = admin.refusal(&request) {
        return refusal;
    }
    let (stream, action) = path.into_inner();
    admin_streams::act(&admin.streams, &request, &stream, &action).await
}

#[tracing::instrument(name = "admin_inbox_status", skip_all)]
async fn inbox_status(request: HttpRequest, admin: web::Data<Admin>) -> HttpResponse {
    if let Some(refusal) = admin.refusal(&request) {
        return refusal;
    }
    match &admin.inbox {
        Some(status) => HttpResponse::Ok().json(status()),
        None => HttpResponse::NotFound()
            .json(json!({ "error": "the work inbox is not configured (IMAP_HOST)" })),
    }
}

/// How many missed runs `GET /admin/jobs` (and the page) shows.
pub(crate) const MISSED_SHOWN: usize = 100;

#[tracing::instrument(name = "admin_list_jobs", skip_all)]
async fn list_jobs(request: HttpRequest, admin: web::Data<Admin>) -> HttpResponse {
    if let Some(refusal) = admin.refusal(&request) {
        return refusal;
    }
    let now = admin.clock.now();
    let jobs: Vec<serde_json::Value> = admin
        .jobs
        .iter()
        .map(|job| {
            json!({
                "job": job.job,
                "household": job.household,
                "at": job.at.format("%H:%M").to_string(),
                "timezone": job.timezone.name(),
                "next_due": next_due(job, now),
                "catch_up_secs": job.catch_up.as_secs(),
            })
        })
        .collect();
    match admin.jobs_store.missed(MISSED_SHOWN).await {
        Ok(missed) => {
            HttpResponse::Ok().json(json!({ "now": now, "jobs": jobs, "missed": missed }))
        }
        Err(error) => {
            tracing::error!(%error, "Could not read missed job runs.");
            HttpResponse::ServiceUnavailable().json(json!({ "error": "the store is unavailable" }))
        }
    }
}

/// The next due instant of a job after `now`.
pub(crate) fn next_due(job: &ScheduledJob, now: DateTime<Utc>) -> DateTime<Utc> {
    let today = now.with_timezone(&job.timezone).date_naive();
    let due = due_instant(today, job.at, job.timezone);
    if due > now {
        return due;
    }
    let tomorrow = today.succ_opt().unwrap_or(today);
    due_instant(tomorrow, job.at, job.timezone)
}

#[tracing::instrument(name = "admin_read_clock", skip_all)]
async fn read_clock(request: HttpRequest, admin: web::Data<Admin>) -> HttpResponse {
    if let Some(refusal) = admin.refusal(&request) {
        return refusal;
    }
    HttpResponse::Ok()
        .json(json!({ "now": admin.clock.now(), "manual": admin.manual_clock.is_some() }))
}

#[tracing::instrument(name = "admin_move_clock", skip_all)]
async fn move_clock(
    request: HttpRequest,
    admin: web::Data<Admin>,
    body: web::Bytes,
) -> HttpResponse {
    if let Some(refusal) = admin.refusal(&request) {
        return refusal;
    }
    let Some(clock) = &admin.manual_clock else {
        return HttpResponse::Conflict()
            .json(json!({ "error": "the clock is the system's; start Alfred with CLOCK=manual to move it" }));
    };
    let bad = |message: &str| HttpResponse::BadRequest().json(json!({ "error": message }));
    match serde_json::from_slice::<MoveClock>(&body) {
        Ok(MoveClock {
            now: Some(now),
            advance_secs: None,
        }) => clock.set(now),
        Ok(MoveClock {
            now: None,
            advance_secs: Some(secs),
        }) => {
            let moved = chrono::Duration::try_seconds(secs).is_some_and(|by| clock.advance(by));
            if !moved {
                return bad("advance_secs moves the clock past the dates it can hold");
            }
        }
        Ok(_) => return bad("give exactly one of \"now\" (RFC 3339) or \"advance_secs\""),
        Err(error) => return bad(&format!("invalid body: {error}")),
    }
    let now = clock.now();
    tracing::info!(%now, "Operator moved the manual clock.");
    HttpResponse::Ok().json(json!({ "now": now, "manual": true }))
}

fn unauthorized() -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
        .json(json!({ "error": "missing or wrong bearer token" }))
}

#[tracing::instrument(name = "admin_list_actors", skip_all)]
async fn list_actors(request: HttpRequest, admin: web::Data<Admin>) -> HttpResponse {
    if let Some(refusal) = admin.refusal(&request) {
        return refusal;
    }
    HttpResponse::Ok().json(admin.root.tree())
}

#[derive(Clone, Copy)]
enum Action {
    Restart,
    Stop,
    Start,
}

#[tracing::instrument(name = "admin_actor_action", skip_all, fields(actor = %name))]
async fn act(
    request: HttpRequest,
    admin: web::Data<Admin>,
    name: String,
    action: Action,
) -> HttpResponse {
    if let Some(refusal) = admin.refusal(&request) {
        return refusal;
    }
    let (result, done) = match action {
        Action::Restart => (admin.root.restart(&name), "restarting"),
        Action::Stop => (admin.root.stop(&name), "stopping"),
        Action::Start => (admin.root.start(&name), "starting"),
    };
    match result {
        Ok(()) => {
            tracing::info!(actor = %name, action = done, "Operator action on an actor.");
            HttpResponse::Accepted().json(json!({ "actor": name, "status": done }))
        }
        Err(error) => HttpResponse::NotFound().json(json!({ "error": error.to_string() })),
    }
}

async fn restart_actor(
    request: HttpRequest,
    admin: web::Data<Admin>,
    name: web::Path<String>,
) -> HttpResponse {
    act(request, admin, name.into_inner(), Action::Restart).await
}

async fn stop_actor(
    request: HttpRequest,
    admin: web::Data<Admin>,
    name: web::Path<String>,
) -> HttpResponse {
    act(request, admin, name.into_inner(), Action::Stop).await
}

async fn start_actor(
    request: HttpRequest,
    admin: web::Data<Admin>,
    name: web::Path<String>,
) -> HttpResponse {
    act(request, admin, name.into_inner(), Action::Start).await
}
