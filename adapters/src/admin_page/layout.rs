//! The frame every admin page shares: head, navigation, role, log-out button, and the security
//! headers of every HTML answer.
//!
//! The Content-Security-Policy allows only Alfred's own stylesheet and refresh script: no
//! inline script or style, no other origin, no framing, forms posting only back to Alfred.

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use maud::{html, Markup, DOCTYPE};

use super::nav::{self, NAV};
use super::session::Session;
use crate::admin_auth::Role;

/// The policy on every admin page.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
     script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// Seconds between reloads of a page that refreshes itself.
pub const REFRESH_SECS: u32 = 5;

/// What one page puts in the frame.
pub struct Frame<'a> {
    pub title: &'a str,
    /// The navigation entry to mark as current.
    pub current: &'a str,
    /// Whether the page reloads itself every [`REFRESH_SECS`].
    pub refresh: bool,
}

/// A page for a logged-in operator.
pub fn page(
    status: StatusCode,
    frame: &Frame<'_>,
    session: &Session,
    body: Markup,
) -> HttpResponse {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(frame.title, frame.refresh))
            body data-refresh=[frame.refresh.then_some(REFRESH_SECS)] {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "Alfred admin" }
                    nav aria-label="Pages" {
                        ul {
                            @for entry in NAV {
                                li {
                                    @if entry.path == frame.current {
                                        a href=(entry.path) aria-current="page" { (entry.label) }
                                    } @else {
                                        a href=(entry.path) { (entry.label) }
                                    }
                                }
                            }
                        }
                    }
                    div.who {
                        span.role data-role=(session.role.as_str()) {
                            @match session.role {
                                Role::Admin => "Admin",
                                Role::ReadOnly => "Read-only",
                            }
                        }
                        form method="post" action=(nav::LOGOUT) {
                            (csrf_field(session))
                            button type="submit" { "Log out" }
                        }
                    }
                }
                main #main {
                    h1 { (frame.title) }
                    @if frame.refresh {
                        p.refresh-note {
                            "Refreshes every " (REFRESH_SECS) " s (paused while a control has focus)."
                        }
                    }
                    (body)
                }
            }
        }
    };
    respond(status, markup)
}

/// A page without a session (the login form).
pub fn bare(status: StatusCode, title: &str, body: Markup) -> HttpResponse {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            (head(title, false))
            body {
                main #main .narrow {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    respond(status, markup)
}

/// The hidden field that carries the session's CSRF token in every form.
pub fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf_token()); }
}

/// A short message page for a logged-in operator (a refusal, an error, a missing piece).
pub fn message(status: StatusCode, session: &Session, title: &str, text: &str) -> HttpResponse {
    let frame = Frame {
        title,
        current: "",
        refresh: false,
    };
    let body = html! {
        p.notice.error role="alert" { (text) }
        p { a href=(nav::TREE) { "Back to the supervision tree" } }
    };
    page(status, &frame, session, body)
}

/// A 303 to `location` (after a form, so a reload does not post again).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// `text` for a query string's value: letters, digits and `-_./` as they are, anything else
/// escaped (actor names, stream names, entry ids, an operator's filter).
pub fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'/' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn head(title: &str, refresh: bool) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Alfred admin" }
            link rel="stylesheet" href=(super::assets::CSS_PATH);
            @if refresh {
                script src=(super::assets::SCRIPT_PATH) defer {}
                // Without JavaScript the read views still refresh, a little slower.
                noscript { meta http-equiv="refresh" content=(REFRESH_SECS * 2); }
            }
        }
    }
}

fn respond(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(markup.into_string())
}
