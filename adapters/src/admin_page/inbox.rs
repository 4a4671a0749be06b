//! The work inbox's polls (`GET /admin/page/inbox`, Biz with `IMAP_HOST`): what
//! `GET /admin/inbox` returns, as a list.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};

use super::guard;
use super::layout::{self, Frame};
use super::nav;
use crate::admin::Admin;

pub async fn show(request: HttpRequest, admin: web::Data<Admin>) -> HttpResponse {
    let session = match guard::viewer(&request, &admin) {
        Ok(session) => session,
        Err(login) => return *login,
    };
    let body = match &admin.inbox {
        Some(status) => html! { (value(&status())) },
        None => html! {
            p #inbox-off { "The work inbox is not configured on this Alfred (Biz with IMAP_HOST)." }
        },
    };
    let frame = Frame {
        title: "Work inbox",
        current: nav::INBOX,
        refresh: true,
    };
    layout::page(StatusCode::OK, &frame, &session, body)
}

/// A JSON status as nested description lists (`last_error` and the like read as they are).
fn value(value: &serde_json::Value) -> Markup {
    match value {
        serde_json::Value::Object(map) if map.is_empty() => html! { "—" },
        serde_json::Value::Object(map) => html! {
            dl {
                @for (key, item) in map {
                    dt { (key.replace('_', " ")) }
                    dd { (self::value(item)) }
                }
            }
        },
        serde_json::Value::Null => html! { "—" },
        serde_json::Value::String(text) => html! { (text) },
        other => html! { (other.to_string()) },
    }
}
