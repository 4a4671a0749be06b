//! The pages whose APIs arrive with the rest of issue 11: **streams** (depths, lag,
//! pause/resume, fed by `GET /admin/streams`) and **dead letters** (filter, show, replay,
//! discard, bulk). Until then each says so; each becomes a file of its own like `jobs.rs` (a
//! read view) or `tree.rs` (with forms), and its entry in `nav.rs` stays.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;

use super::guard;
use super::layout::{self, Frame};
use super::nav;
use crate::admin::Admin;

pub async fn streams(request: HttpRequest, admin: web::Data<Admin>) -> HttpResponse {
    not_yet(
        &request,
        &admin,
        "Streams",
        nav::STREAMS,
        "The streams' depths, lag and pause/resume",
    )
}

pub async fn dead_letters(request: HttpRequest, admin: web::Data<Admin>) -> HttpResponse {
    not_yet(
        &request,
        &admin,
        "Dead letters",
        nav::DEAD_LETTERS,
        "Dead letters (filter, show, replay, discard)",
    )
}

fn not_yet(
    request: &HttpRequest,
    admin: &Admin,
    title: &str,
    current: &str,
    what: &str,
) -> HttpResponse {
    let session = match guard::viewer(request, admin) {
        Ok(session) => session,
        Err(login) => return *login,
    };
    let body = html! { p { (what) " will be shown here in a coming version of Alfred." } };
    let frame = Frame {
        title,
        current,
        refresh: false,
    };
    layout::page(StatusCode::OK, &frame, &session, body)
}
