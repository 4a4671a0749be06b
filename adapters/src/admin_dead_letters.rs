//! The admin API's dead letters (issue 11), on the shared service
//! [`alfred_actors::dead_letters::DeadLetters`]:
//!
//! * reads: `GET /admin/dead-letters?stream=ingest|outbox[&reason=&since=&until=&before=&limit=]`
//!   (newest first, paged by `before=<next>`), `GET /admin/dead-letters/{stream}/{id}` (the
//!   whole entry), `GET /admin/dead-letters/audit[?limit=]` (the latest actions);
//! * changes: `POST /admin/dead-letters/{stream}/{id}/replay|discard`, and in bulk
//!   `POST /admin/dead-letters/{stream}/replay|discard` with `{"ids": [...]}` or a filter
//!   `{"reason", "since", "until"}`.
//!
//! Reads and changes are separate handlers (modules `read` and `change` below) so that a role that
//! may only read is one check away. Secrets never leave the service (see its `redact`).
//! Answers: 400 for a bad stream, id, filter or body; 404 for a missing dead letter; 409 for
//! one no replay can help; 503 when Redis or Postgres is down; every error as `{"error": …}`.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use alfred_actors::dead_letters::{
    parse_time, Action, DeadLetterError, DeadLetters, DeadStream, Filter, ListQuery, Selection,
};
use serde_json::json;

use super::Admin;

/// Mounts the dead-letter routes: reads are GETs, changes (`replay`, `discard`) POSTs.
pub(super) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin/dead-letters", web::get().to(read::list))
        .route("/admin/dead-letters/audit", web::get().to(read::audit))
        .route(
            "/admin/dead-letters/{stream}/{id}",
            web::get().to(read::show),
        )
        .route(
            "/admin/dead-letters/{stream}/{id}/{change}",
            web::post().to(change::one),
        )
        .route(
            "/admin/dead-letters/{stream}/{change}",
            web::post().to(change::many),
        );
}

/// The service, or why the request cannot be served: refused (401/429) or no durable stores.
fn service<'a>(
    request: &HttpRequest,
    admin: &'a Admin,
) -> Result<&'a DeadLetters, Box<HttpResponse>> {
    if let Some(refusal) = admin.refusal(request) {
        return Err(Box::new(refusal));
    }
    admin.dead_letters.as_deref().ok_or_else(|| {
        Box::new(HttpResponse::NotFound().json(json!({
            "error": "dead letters are kept only with REDIS_URL and DATABASE_URL (this Alfred is ephemeral)"
        })))
    })
}

/// Who acted, for the audit log.
fn actor(request: &HttpRequest) -> String {
    match request.peer_addr() {
        Some(peer) => format!("admin-api from {}", peer.ip()),
        None => "admin-api".to_owned(),
    }
}

/// Every dead-letter error as its status and `{"error": …}`; causes of a 5xx are logged, not
/// shown beyond a sentence.
fn failure(error: DeadLetterError) -> HttpResponse {
    let body = json!({ "error": error.to_string() });
    match error {
        DeadLetterError::BadRequest(_) => HttpResponse::BadRequest().json(body),
        DeadLetterError::NotFound { .. } => HttpResponse::NotFound().json(body),
        DeadLetterError::NotReplayable { .. } => HttpResponse::Conflict().json(body),
        DeadLetterError::Unavailable(_) => {
            tracing::warn!(%error, "A dead-letter request found a store unavailable.");
            HttpResponse::ServiceUnavailable()
                .json(json!({ "error": "Redis or Postgres is unavailable; try again" }))
        }
        DeadLetterError::Failed(_) => {
            tracing::error!(%error, "A dead-letter request failed.");
            HttpResponse::InternalServerError()
                .json(json!({ "error": "the dead-letter request failed; see the logs" }))
        }
    }
}

fn respond<T: serde::Serialize>(result: Result<T, DeadLetterError>) -> HttpResponse {
    match result {
        Ok(value) => HttpResponse::Ok().json(value),
        Err(error) => failure(error),
    }
}

fn stream_and_id(path: &(String, String)) -> Result<(DeadStream, &str), DeadLetterError> {
    DeadStream::parse(&path.0).map(|stream| (stream, path.1.as_str()))
}

/// A listing's query string: `stream` (required), `reason`, `since`, `until`, `before`, `limit`.
pub(crate) fn list_query(
    query: &HashMap<String, String>,
) -> Result<(DeadStream, ListQuery), DeadLetterError> {
    const KNOWN: [&str; 6] = ["stream", "reason", "since", "until", "before", "limit"];
    if let Some(unknown) = query.keys().find(|name| !KNOWN.contains(&name.as_str())) {
        return Err(DeadLetterError::BadRequest(format!(
            "unknown parameter {unknown:?}: use {}",
            KNOWN.join(", ")
        )));
    }
    let stream = query.get("stream").ok_or_else(|| {
        DeadLetterError::BadRequest("stream is required: ?stream=ingest or ?stream=outbox".into())
    })?;
    let time = |name: &str| {
        query
            .get(name)
            .map(|text| parse_time(name, text))
            .transpose()
    };
    let limit = query
        .get("limit")
        .map(|text| {
            text.parse::<usize>().map_err(|_| {
                DeadLetterError::BadRequest(format!("limit must be a number, not {text:?}"))
            })
        })
        .transpose()?;
    Ok((
        DeadStream::parse(stream)?,
        ListQuery {
            filter: Filter {
                reason: query
                    .get("reason")
                    .filter(|reason| !reason.is_empty())
                    .cloned(),
                since: time("since")?,
                until: time("until")?,
            },
            before: query.get("before").cloned(),
            limit,
        },
    ))
}

/// Handlers that only read.
mod read {
    use super::*;

    #[tracing::instrument(name = "admin_dead_letters_list", skip_all)]
    pub(super) async fn list(
        request: HttpRequest,
        admin: web::Data<Admin>,
        query: web::Query<HashMap<String, String>>,
    ) -> HttpResponse {
        let service = match service(&request, &admin) {
            Ok(service) => service,
            Err(response) => return *response,
        };
        respond(
            async {
                let (stream, query) = list_query(&query)?;
                service.list(stream, &query).await
            }
            .await,
        )
    }

    #[tracing::instrument(name = "admin_dead_letters_show", skip_all, fields(stream = %path.0, entry_id = %path.1))]
    pub(super) async fn show(
        request: HttpRequest,
        admin: web::Data<Admin>,
        path: web::Path<(String, String)>,
    ) -> HttpResponse {
        let service = match service(&request, &admin) {
            Ok(service) => service,
            Err(response) => return *response,
        };
        respond(
            async {
                let (stream, id) = stream_and_id(&path)?;
                Ok(service.show(stream, id).await?.detail())
            }
            .await,
        )
    }

    #[tracing::instrument(name = "admin_dead_letters_audit", skip_all)]
    pub(super) async fn audit(
        request: HttpRequest,
        admin: web::Data<Admin>,
        query: web::Query<HashMap<String, String>>,
    ) -> HttpResponse {
        let service = match service(&request, &admin) {
            Ok(service) => service,
            Err(response) => return *response,
        };
        let limit = query.get("limit").map(|text| text.parse::<usize>());
        respond(match limit {
            None => service.audit_log(100).await,
            Some(Ok(limit)) => service.audit_log(limit).await,
            Some(Err(_)) => Err(DeadLetterError::BadRequest("limit must be a number".into())),
        })
    }
}

/// Handlers that change something (each audited by the service).
mod change {
    use super::*;

    /// `replay` or `discard`; anything else answers 404 like an unknown route.
    fn action(name: &str) -> Result<Action, Box<HttpResponse>> {
        Action::parse(name).ok_or_else(|| {
            Box::new(HttpResponse::NotFound().json(json!({
                "error": format!("no dead-letter action {name:?}: use replay or discard")
            })))
        })
    }

    /// `POST /admin/dead-letters/{stream}/{id}/replay|discard`.
    #[tracing::instrument(name = "admin_dead_letter_change", skip_all, fields(stream = %path.0, entry_id = %path.1, change = %path.2))]
    pub(super) async fn one(
        request: HttpRequest,
        admin: web::Data<Admin>,
        path: web::Path<(String, String, String)>,
    ) -> HttpResponse {
        let service = match service(&request, &admin) {
            Ok(service) => service,
            Err(response) => return *response,
        };
        let (stream, id, change) = path.into_inner();
        let action = match action(&change) {
            Ok(action) => action,
            Err(response) => return *response,
        };
        let path = (stream, id);
        let (stream, id) = match stream_and_id(&path) {
            Ok(parsed) => parsed,
            Err(error) => return failure(error),
        };
        respond(service.act(stream, id, &actor(&request), action).await)
    }

    /// `POST /admin/dead-letters/{stream}/replay|discard` with a selection.
    #[tracing::instrument(name = "admin_dead_letters_bulk", skip_all, fields(stream = %path.0, change = %path.1))]
    pub(super) async fn many(
        request: HttpRequest,
        admin: web::Data<Admin>,
        path: web::Path<(String, String)>,
        body: web::Bytes,
    ) -> HttpResponse {
        let service = match service(&request, &admin) {
            Ok(service) => service,
            Err(response) => return *response,
        };
        let (stream, change) = path.into_inner();
        let action = match action(&change) {
            Ok(action) => action,
            Err(response) => return *response,
        };
        let (stream, selection) = match DeadStream::parse(&stream)
            .and_then(|stream| Ok((stream, Selection::from_json(&body)?)))
        {
            Ok(parsed) => parsed,
            Err(error) => return failure(error),
        };
        respond(
            service
                .act_on_selection(stream, &selection, &actor(&request), action)
                .await,
        )
    }
}
