//! The dead letters (`GET /admin/page/dead-letters?stream=&reason=&since=&until=&before=`):
//! one stream's dead letters newest first, filtered and paged like
//! `GET /admin/dead-letters`; one entry, secrets removed
//! (`GET /admin/page/dead-letters/{stream}/{id}`); and for the admin role Replay and Discard
//! per entry (`POST` to the same path). Bulk actions by the filter are offered here and done
//! in `bulk`.
//!
//! Everything goes through the dead-letter service the JSON API uses
//! ([`alfred_actors::dead_letters::DeadLetters`]): the same query parsing, listing, redaction,
//! replay and discard, audited with who acted ("admin-page from …").
//! Not refreshed automatically: an operator reads, filters and pages through it.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use alfred_actors::dead_letters::entry::is_entry_id;
use alfred_actors::dead_letters::{Action, DeadLetterError, DeadLetters, DeadStream, ListQuery};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use super::guard;
use super::layout::{self, Frame};
use super::nav;
use super::session::Session;
use crate::admin::dead_letters::list_query;
use crate::admin::Admin;
use crate::admin_auth::Role;

/// The listing's choice as the operator typed it: shown again in the form, carried along by
/// links and buttons, parsed by the JSON API's own [`list_query`].
#[derive(Debug, Clone, Default)]
pub(super) struct View {
    pub stream: String,
    pub reason: String,
    pub since: String,
    pub until: String,
    pub before: String,
}

impl View {
    /// From a query string or a form; the stream defaults to ingest, blank fields are unset.
    pub fn from(fields: &HashMap<String, String>) -> View {
        let field = |name: &str| fields.get(name).map_or("", |text| text.trim()).to_owned();
        View {
            stream: Some(field("stream"))
                .filter(|stream| !stream.is_empty())
                .unwrap_or_else(|| DeadStream::Ingest.as_str().to_owned()),
            reason: field("reason"),
            since: field("since"),
            until: field("until"),
            before: field("before"),
        }
    }

    /// The stream and the query, as the JSON API reads them.
    pub fn parsed(&self) -> Result<(DeadStream, ListQuery), DeadLetterError> {
        let fields = [
            ("stream", &self.stream),
            ("reason", &self.reason),
            ("since", &self.since),
            ("until", &self.until),
            ("before", &self.before),
        ];
        list_query(
            &fields
                .into_iter()
                .filter(|(_, value)| !value.is_empty())
                .map(|(name, value)| (name.to_owned(), value.clone()))
                .collect(),
        )
    }

    /// Whether a reason or a time is set (a bulk action needs one).
    pub fn filtered(&self) -> bool {
        !(self.reason.is_empty() && self.since.is_empty() && self.until.is_empty())
    }

    /// The listing's address for this stream and filter (from the newest), with `extra`.
    pub fn link(&self, extra: &[(&str, &str)]) -> String {
        let pairs = [
            ("stream", self.stream.as_str()),
            ("reason", &self.reason),
            ("since", &self.since),
            ("until", &self.until),
        ];
        let query: Vec<String> = pairs
            .iter()
            .chain(extra)
            .filter(|(_, value)| !value.is_empty())
            .map(|(name, value)| format!("{name}={}", layout::percent_encode(value)))
            .collect();
        format!("{}?{}", nav::DEAD_LETTERS, query.join("&"))
    }

    /// The stream and filter as hidden fields of a form.
    pub fn hidden(&self) -> Markup {
        html! {
            input type="hidden" name="stream" value=(self.stream);
            @for (name, value) in [("reason", &self.reason), ("since", &self.since), ("until", &self.until)] {
                @if !value.is_empty() { input type="hidden" name=(name) value=(value); }
            }
        }
    }

    /// What the filter takes, in words.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.reason.is_empty() {
            parts.push(format!("reason contains \u{201c}{}\u{201d}", self.reason));
        }
        if !self.since.is_empty() {
            parts.push(format!("since {}", self.since));
        }
        if !self.until.is_empty() {
            parts.push(format!("until {}", self.until));
        }
        parts.join(", ")
    }
}

/// The notice after a Replay or Discard (`?done=replayed&entry=…`).
#[derive(Debug, Deserialize)]
pub struct Done {
    done: Option<String>,
    entry: Option<String>,
}

/// The service, or the page saying this Alfred keeps no dead letters.
pub(super) fn service<'a>(
    admin: &'a Admin,
    session: &Session,
) -> Result<&'a DeadLetters, Box<HttpResponse>> {
    admin.dead_letters.as_deref().ok_or_else(|| {
        Box::new(layout::message(
            StatusCode::NOT_FOUND,
            session,
            "No dead letters here",
            "Dead letters are kept only with REDIS_URL and DATABASE_URL; this Alfred is ephemeral.",
        ))
    })
}

/// Who acted, for the audit log.
pub(super) fn actor(request: &HttpRequest) -> String {
    match request.peer_addr() {
        Some(peer) => format!("admin-page from {}", peer.ip()),
        None => "admin-page".to_owned(),
    }
}

/// A failed dead-letter operation as a page: its status and a sentence (causes of a 5xx are
/// logged, not shown).
pub(super) fn failure(session: &Session, error: DeadLetterError) -> HttpResponse {
    let (status, title) = match &error {
        DeadLetterError::BadRequest(_) => (StatusCode::BAD_REQUEST, "Not understood"),
        DeadLetterError::NotFound { .. } => (StatusCode::NOT_FOUND, "No such dead letter"),
        DeadLetterError::NotReplayable { .. } => (StatusCode::CONFLICT, "Cannot be replayed"),
        DeadLetterError::Unavailable(_) => {
            tracing::warn!(%error, "An admin page dead-letter request found a store unavailable.");
            return layout::message(
                StatusCode::SERVICE_UNAVAILABLE,
                session,
                "Unavailable",
                "Redis or Postgres is unavailable; try again.",
            );
        }
        DeadLetterError::Failed(_) => {
            tracing::error!(%error, "An admin page dead-letter request failed.");
            return layout::message(
                StatusCode::INTERNAL_SERVER_ERROR,
                session,
                "Failed",
                "The dead-letter request failed; see the logs.",
            );
        }
    };
    layout::message(status, session, title, &error.to_string())
}

pub async fn list(
    request: HttpRequest,
    admin: web::Data<Admin>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let session = match guard::viewer(&request, &admin) {
        Ok(session) => session,
        Err(login) => return *login,
    };
    let service = match service(&admin, &session) {
        Ok(service) => service,
        Err(page) => return *page,
    };
    let view = View::from(&query);
    let page = match view.parsed() {
        Ok((stream, query)) => service.list(stream, &query).await,
        Err(error) => Err(error),
    };
    let status = match &page {
        Ok(_) => StatusCode::OK,
        Err(DeadLetterError::BadRequest(_)) => StatusCode::BAD_REQUEST,
        Err(error) => {
            tracing::warn!(%error, "Could not list dead letters for the admin page.");
            StatusCode::SERVICE_UNAVAILABLE
        }
    };
    let done = Done {
        done: query.get("done").cloned(),
        entry: query.get("entry").cloned(),
    };
    let body = html! {
        @if let Some(notice) = notice(&done, &view.stream) {
            p.notice role="status" { (notice) }
        }
        (filter_form(&view))
        @match &page {
            Err(DeadLetterError::BadRequest(why)) => p.notice.error role="alert" { (why) },
            Err(_) => p.notice.error role="alert" { "Redis is unavailable; the dead letters cannot be read now." },
            Ok(page) => {
                (bulk_offer(&view, &session))
                @if page.entries.is_empty() {
                    p #no-dead-letters { "No dead letters" @if view.filtered() { " match" } " in " (view.stream) "." }
                } @else {
                    (table(&view, &page.entries, &session))
                }
                nav.pages aria-label="Pages of dead letters" {
                    @if !view.before.is_empty() { a href=(view.link(&[])) { "Newest" } }
                    @if let Some(next) = &page.next { a href=(view.link(&[("before", next)])) { "Older" } }
                }
            }
        }
    };
    let frame = Frame {
        title: "Dead letters",
        current: nav::DEAD_LETTERS,
        refresh: false,
    };
    layout::page(status, &frame, &session, body)
}

pub async fn show(
    request: HttpRequest,
    admin: web::Data<Admin>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let session = match guard::viewer(&request, &admin) {
        Ok(session) => session,
        Err(login) => return *login,
    };
    let service = match service(&admin, &session) {
        Ok(service) => service,
        Err(page) => return *page,
    };
    let (stream, id) = path.into_inner();
    let entry = match DeadStream::parse(&stream) {
        Ok(parsed) => service.show(parsed, &id).await,
        Err(error) => Err(error),
    };
    let detail = match entry {
        Ok(entry) => entry.detail(),
        Err(error) => return failure(&session, error),
    };
    let view = View {
        stream,
        ..View::default()
    };
    let whole = serde_json::to_string_pretty(&detail["entry"]).unwrap_or_default();
    let body = html! {
        p { a href=(view.link(&[])) { "Back to the " (view.stream) " dead letters" } }
        dl #dead-letter {
            @for (label, key) in [("Id", "id"), ("When", "at"), ("Reason", "reason"), ("Deliveries", "deliveries"),
                                  ("Conversation", "conversation"), ("Outbox row", "outbox_id")] {
                @if !detail[key].is_null() { dt { (label) } dd { (text(&detail[key])) } }
            }
            dt { "Replay" }
            dd {
                @match detail["not_replayable"].as_str() {
                    Some(why) => { "not possible: " (why) },
                    None => "possible",
                }
            }
        }
        @if session.role == Role::Admin {
            (buttons(&view, &detail, &session))
        }
        h2 { "The entry, secrets removed" }
        pre.entry { (whole) }
    };
    let frame = Frame {
        title: "Dead letter",
        current: nav::DEAD_LETTERS,
        refresh: false,
    };
    layout::page(StatusCode::OK, &frame, &session, body)
}

/// A Replay or Discard button's post: `csrf`, `action`, and the filter to go back to.
#[tracing::instrument(name = "admin_page_dead_letter_change", skip_all, fields(stream = %path.0, entry_id = %path.1))]
pub async fn act(
    request: HttpRequest,
    admin: web::Data<Admin>,
    path: web::Path<(String, String)>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let field = |name: &str| form.get(name).map_or("", String::as_str);
    let session = match guard::changer(&request, &admin, field("csrf")) {
        Ok(session) => session,
        Err(refusal) => return *refusal,
    };
    let service = match service(&admin, &session) {
        Ok(service) => service,
        Err(page) => return *page,
    };
    let Some(action) = Action::parse(field("action")) else {
        return layout::message(
            StatusCode::BAD_REQUEST,
            &session,
            "Unknown action",
            "The action must be replay or discard.",
        );
    };
    let (stream, id) = path.into_inner();
    let done = match DeadStream::parse(&stream) {
        Ok(parsed) => service.act(parsed, &id, &actor(&request), action).await,
        Err(error) => Err(error),
    };
    match done {
        Ok(done) => {
            let mut view = View::from(&form);
            view.stream = stream;
            layout::see_other(&view.link(&[("done", &done.outcome), ("entry", &id)]))
        }
        Err(error) => failure(&session, error),
    }
}

/// What the last action did, for a known outcome on a real entry id only.
fn notice(done: &Done, stream: &str) -> Option<String> {
    let id = done.entry.as_deref().filter(|id| is_entry_id(id))?;
    let what = match done.done.as_deref()? {
        "replayed" => format!("put back on the {stream} stream"),
        "already_answered" => "its message was answered since: nothing was put back".to_owned(),
        "already_sent" => "its reply was sent since: nothing was sent again".to_owned(),
        "in_flight" => "its reply is on its way already".to_owned(),
        "discarded" => "discarded (kept in the audit log)".to_owned(),
        "already_replayed" => "replayed before: nothing done".to_owned(),
        "already_discarded" => "discarded before: nothing done".to_owned(),
        _ => return None,
    };
    Some(format!("Dead letter {id}: {what}."))
}

/// The listing's offer of a bulk action by its filter (admin role only).
fn bulk_offer(view: &View, session: &Session) -> Markup {
    if session.role != Role::Admin {
        return html! {};
    }
    html! {
        @if view.filtered() {
            form.bulk method="get" action=(nav::BULK) {
                (view.hidden())
                span.hint { "Every " (view.stream) " dead letter where " (view.describe()) ": " }
                button type="submit" name="action" value="replay" { "Replay all matching…" }
                " "
                button type="submit" name="action" value="discard" { "Discard all matching…" }
            }
        } @else {
            p.hint { "Set a reason or a time to replay or discard many at once (since 1970-01-01T00:00:00Z takes them all)." }
        }
    }
}

fn filter_form(view: &View) -> Markup {
    html! {
        form.card.filter method="get" action=(nav::DEAD_LETTERS) {
            div.fields {
                div {
                    label for="dl-stream" { "Stream" }
                    select #dl-stream name="stream" {
                        @for stream in [DeadStream::Ingest, DeadStream::Outbox] {
                            option value=(stream.as_str()) selected[view.stream == stream.as_str()] { (stream.as_str()) }
                        }
                    }
                }
                div {
                    label for="dl-reason" { "Reason contains" }
                    input #dl-reason type="text" name="reason" value=(view.reason) placeholder="131026";
                }
                div {
                    label for="dl-since" { "Since (RFC 3339)" }
                    input #dl-since type="text" name="since" value=(view.since) placeholder="2026-12-02T10:00:00Z";
                }
                div {
                    label for="dl-until" { "Until (RFC 3339)" }
                    input #dl-until type="text" name="until" value=(view.until) placeholder="2026-12-02T12:00:00Z";
                }
            }
            button.primary type="submit" { "Show" }
        }
    }
}

fn table(view: &View, entries: &[Value], session: &Session) -> Markup {
    html! {
        table #dead-letters {
            caption.hint { "Newest first; previews and reasons with secrets removed." }
            thead { tr {
                th scope="col" { "Id" } th scope="col" { "When (UTC)" } th scope="col" { "Reason" }
                th scope="col" { "Deliveries" } th scope="col" { "Conversation" } th scope="col" { "Preview" }
                @if session.role == Role::Admin { th scope="col" { "Actions" } }
            } }
            tbody {
                @for entry in entries {
                    @let id = text(&entry["id"]);
                    tr data-entry=(id) {
                        th scope="row" {
                            a href=(format!("{}/{}/{}", nav::DEAD_LETTERS, view.stream, layout::percent_encode(&id))) { (id) }
                        }
                        td.num { (when(&entry["at"])) }
                        td.reason { (text(&entry["reason"])) }
                        td.num { (text(&entry["deliveries"])) }
                        td { (text(&entry["conversation"])) }
                        td.preview { code { (text(&entry["preview"])) } }
                        @if session.role == Role::Admin { td { (buttons(view, entry, session)) } }
                    }
                }
            }
        }
    }
}

/// Replay (when a replay can help) and Discard for one entry (its summary or detail).
fn buttons(view: &View, entry: &Value, session: &Session) -> Markup {
    let id = text(&entry["id"]);
    html! {
        form.actions method="post" action=(format!("{}/{}/{}", nav::DEAD_LETTERS, view.stream, layout::percent_encode(&id))) {
            (layout::csrf_field(session))
            (view.hidden())
            @if entry["replayable"] == Value::Bool(true) {
                button type="submit" name="action" value="replay" aria-label=(format!("Replay {id}")) { "Replay" }
            }
            button type="submit" name="action" value="discard" aria-label=(format!("Discard {id}")) { "Discard" }
        }
    }
}

/// A JSON field as text: strings as they are, nothing as a dash.
fn text(value: &Value) -> String {
    match value {
        Value::Null => "—".to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// An RFC 3339 time, shorter.
fn when(value: &Value) -> Markup {
    let at = value.as_str().unwrap_or_default();
    let shown = chrono::DateTime::parse_from_rfc3339(at)
        .map(|at| at.to_utc().format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| at.to_owned());
    html! { time datetime=(at) { (shown) } }
}
