//! The runtime's clock (`GET /admin/page/clock`), and with `CLOCK=manual` the forms that set or
//! advance it (`POST /admin/page/clock`, the same moves as `POST /admin/clock`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use alfred_actors::clock::Clock;
use chrono::DateTime;
use maud::html;
use serde::Deserialize;

use super::guard;
use super::layout::{self, Frame};
use super::nav;
use crate::admin::Admin;
use crate::admin_auth::Role;

/// Either form's post: one of `now` (RFC 3339) or `advance_secs`.
#[derive(Debug, Deserialize)]
pub struct ClockForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    now: String,
    #[serde(default)]
    advance_secs: String,
}

pub async fn show(request: HttpRequest, admin: web::Data<Admin>) -> HttpResponse {
    let session = match guard::viewer(&request, &admin) {
        Ok(session) => session,
        Err(login) => return *login,
    };
    let now = admin.clock.now();
    let manual = admin.manual_clock.is_some();
    let body = html! {
        p.now #clock-now { time datetime=(now.to_rfc3339()) { (now.format("%Y-%m-%d %H:%M:%S UTC")) } }
        @if !manual {
            p { "This is the system clock. Only an Alfred started with CLOCK=manual (tests and demos) has a clock that can be moved." }
        } @else if session.role == Role::ReadOnly {
            p { "The clock is manual; only the admin key can move it." }
        } @else {
            p { "The clock is manual: it moves only when you move it." }
            form.card method="post" action=(nav::CLOCK) {
                (layout::csrf_field(&session))
                label for="clock-set" { "Set to (RFC 3339)" }
                input #clock-set type="text" name="now" required placeholder="2026-11-26T07:00:00Z" value=(now.to_rfc3339());
                button.primary type="submit" { "Set the clock" }
            }
            form.card method="post" action=(nav::CLOCK) {
                (layout::csrf_field(&session))
                label for="clock-advance" { "Advance by (seconds)" }
                input #clock-advance type="number" name="advance_secs" required value="3600";
                button.primary type="submit" { "Advance the clock" }
            }
        }
    };
    let frame = Frame {
        title: "Clock",
        current: nav::CLOCK,
        refresh: true,
    };
    layout::page(StatusCode::OK, &frame, &session, body)
}

#[tracing::instrument(name = "admin_page_move_clock", skip_all)]
pub async fn move_clock(
    request: HttpRequest,
    admin: web::Data<Admin>,
    form: web::Form<ClockForm>,
) -> HttpResponse {
    let session = match guard::changer(&request, &admin, &form.csrf) {
        Ok(session) => session,
        Err(refusal) => return *refusal,
    };
    let Some(clock) = &admin.manual_clock else {
        return layout::message(
            StatusCode::CONFLICT,
            &session,
            "The clock is the system's",
            "Start Alfred with CLOCK=manual to move it.",
        );
    };
    let bad =
        |text: &str| layout::message(StatusCode::BAD_REQUEST, &session, "Clock not moved", text);
    match (form.now.trim(), form.advance_secs.trim()) {
        (now, "") if !now.is_empty() => match DateTime::parse_from_rfc3339(now) {
            Ok(now) => clock.set(now.to_utc()),
            Err(_) => return bad("Give the time in RFC 3339, e.g. 2026-11-26T07:00:00Z."),
        },
        ("", secs) if !secs.is_empty() => {
            let moved = secs
                .parse::<i64>()
                .ok()
                .and_then(chrono::Duration::try_seconds)
                .is_some_and(|by| clock.advance(by));
            if !moved {
                return bad("Give a whole number of seconds the clock can move by.");
            }
        }
        _ => return bad("Give either a time to set or seconds to advance by."),
    }
    tracing::info!(now = %clock.now(), via = "page", "Operator moved the manual clock.");
    layout::see_other(nav::CLOCK)
}
