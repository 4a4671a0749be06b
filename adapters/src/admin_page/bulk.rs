//! Replaying or discarding every dead letter the listing's filter matches, in two steps:
//! `GET /admin/page/dead-letters/bulk?stream=&reason=&since=&until=&action=` counts what the
//! action would take and asks to confirm; its form posts to the same path, which acts through
//! the service's own bulk action (`act_on_selection`, like
//! `POST /admin/dead-letters/{stream}/replay|discard` with a filter) and shows what happened
//! to each. Like the JSON API it needs a filter: an empty one would take every dead letter.
//! The listing offers the action (`dead_letters`).
//!
//! The result is shown by the post itself (not a redirect): it lists the failures one by one,
//! and posting again is harmless (a dead letter already replayed or discarded is left alone).

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use alfred_actors::dead_letters::{Action, Bulk, Selection, MAX_BULK};
use maud::html;

use super::dead_letters::{actor, failure, service, View};
use super::guard;
use super::layout::{self, Frame};
use super::nav;
use super::session::Session;
use crate::admin::Admin;
use crate::admin_auth::Role;

/// The confirmation step: how many the action would take.
pub async fn confirm(
    request: HttpRequest,
    admin: web::Data<Admin>,
    query: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    let session = match guard::viewer(&request, &admin) {
        Ok(session) => session,
        Err(login) => return *login,
    };
    if session.role != Role::Admin {
        return layout::message(
            StatusCode::FORBIDDEN,
            &session,
            "Refused",
            "The read-only key sees everything and changes nothing; log in with the admin key.",
        );
    }
    let service = match service(&admin, &session) {
        Ok(service) => service,
        Err(page) => return *page,
    };
    let (view, action, selection) = match chosen(&query) {
        Ok(chosen) => chosen,
        Err(text) => return not_understood(&session, &text),
    };
    let (stream, _) = match view.parsed() {
        Ok(parsed) => parsed,
        Err(error) => return failure(&session, error),
    };
    let count = match service.selected(stream, &selection).await {
        Ok(ids) => ids.len(),
        Err(error) => return failure(&session, error),
    };
    let verb = capitalized(action);
    let body = html! {
        @if count == 0 {
            p #bulk-count { "No " (view.stream) " dead letter matches (" (view.describe()) ")." }
        } @else {
            p #bulk-count {
                (verb) " " strong { (count) } " " (view.stream) " dead letter" @if count != 1 { "s" }
                " (" (view.describe()) "), oldest first?"
            }
            @if count == MAX_BULK {
                p.hint { "That is the most one action takes; repeat it for the rest." }
            }
            p.hint { "Any that arrive before you confirm and match are taken too; the result lists each." }
            form.actions method="post" action=(nav::BULK) {
                (layout::csrf_field(&session))
                (view.hidden())
                button.primary type="submit" name="action" value=(action.as_str()) {
                    (verb) " " (count)
                }
            }
        }
        p { a href=(view.link(&[])) { "Cancel, back to the list" } }
    };
    let frame = Frame {
        title: &format!("{verb} dead letters"),
        current: nav::DEAD_LETTERS,
        refresh: false,
    };
    layout::page(StatusCode::OK, &frame, &session, body)
}

/// The confirmed action: acts on what the filter matches now and shows the outcome.
#[tracing::instrument(name = "admin_page_dead_letters_bulk", skip_all)]
pub async fn act(
    request: HttpRequest,
    admin: web::Data<Admin>,
    form: web::Form<HashMap<String, String>>,
) -> HttpResponse {
    let csrf = form.get("csrf").map_or("", String::as_str);
    let session = match guard::changer(&request, &admin, csrf) {
        Ok(session) => session,
        Err(refusal) => return *refusal,
    };
    let service = match service(&admin, &session) {
        Ok(service) => service,
        Err(page) => return *page,
    };
    let (view, action, selection) = match chosen(&form) {
        Ok(chosen) => chosen,
        Err(text) => return not_understood(&session, &text),
    };
    let bulk = match view.parsed() {
        Ok((stream, _)) => {
            service
                .act_on_selection(stream, &selection, &actor(&request), action)
                .await
        }
        Err(error) => Err(error),
    };
    match bulk {
        Ok(bulk) => outcome(&view, action, &bulk, &session),
        Err(error) => failure(&session, error),
    }
}

/// The listing's filter, the action and the selection they make (a non-empty filter only);
/// or what is wrong with them.
fn chosen(fields: &HashMap<String, String>) -> Result<(View, Action, Selection), String> {
    let action = fields
        .get("action")
        .and_then(|name| Action::parse(name))
        .ok_or_else(|| "The action must be replay or discard.".to_owned())?;
    let view = View {
        before: String::new(),
        ..View::from(fields)
    };
    let (_, query) = view.parsed().map_err(|error| error.to_string())?;
    let selection = Selection::new(None, query.filter).map_err(|error| error.to_string())?;
    Ok((view, action, selection))
}

fn not_understood(session: &Session, text: &str) -> HttpResponse {
    layout::message(StatusCode::BAD_REQUEST, session, "Not understood", text)
}

fn outcome(view: &View, action: Action, bulk: &Bulk, session: &Session) -> HttpResponse {
    let verb = capitalized(action);
    let body = html! {
        p.notice role="status" #bulk-result {
            (verb) ": " (bulk.matched) " " (view.stream) " dead letter" @if bulk.matched != 1 { "s" }
            " matched (" (view.describe()) ")"
            @for (outcome, count) in &bulk.outcomes { "; " (outcome.replace('_', " ")) " " (count) }
            @if !bulk.errors.is_empty() { "; " (bulk.errors.len()) " failed" }
            "."
        }
        @if !bulk.errors.is_empty() {
            table #bulk-errors {
                caption.hint { "These were left in place." }
                thead { tr { th scope="col" { "Id" } th scope="col" { "Why" } } }
                tbody {
                    @for error in &bulk.errors { tr { th scope="row" { (error.id) } td { (error.error) } } }
                }
            }
        }
        p { a href=(view.link(&[])) { "Back to the list" } }
    };
    let frame = Frame {
        title: &format!("{verb} dead letters"),
        current: nav::DEAD_LETTERS,
        refresh: false,
    };
    layout::page(StatusCode::OK, &frame, session, body)
}

fn capitalized(action: Action) -> &'static str {
    match action {
        Action::Replay => "Replay",
        Action::Discard => "Discard",
    }
}
