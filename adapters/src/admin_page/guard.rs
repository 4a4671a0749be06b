//! Who may see and do what on the admin page: a session to see, and for a change also the
//! session's CSRF token and the admin role. A refusal is the whole answer, boxed (it is large
//! and rare).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};

use super::layout;
use super::nav;
use super::session::{self, Session};
use crate::admin::Admin;

/// The session of a request for a page; without one, the way to the login form.
pub fn viewer(request: &HttpRequest, admin: &Admin) -> Result<Session, Box<HttpResponse>> {
    session::of_request(request, &admin.keys).ok_or_else(|| Box::new(layout::see_other(nav::LOGIN)))
}

/// The session of a form post whose CSRF token is right, whatever its role (logging out).
pub fn poster(
    request: &HttpRequest,
    admin: &Admin,
    csrf: &str,
) -> Result<Session, Box<HttpResponse>> {
    let Some(session) = session::of_request(request, &admin.keys) else {
        tracing::warn!(path = %request.path(), "Refused an admin page post without a session.");
        return Err(Box::new(layout::bare(
            StatusCode::UNAUTHORIZED,
            "Not logged in",
            maud::html! { p { "Your session has ended. " a href=(nav::LOGIN) { "Log in again" } "." } },
        )));
    };
    if !session.csrf_matches(csrf) {
        // Most likely a forged cross-site post, or a form from an earlier session.
        tracing::warn!(path = %request.path(), "Refused an admin page post without the session's CSRF token.");
        return Err(Box::new(layout::message(
            StatusCode::FORBIDDEN,
            &session,
            "Refused",
            "The form did not carry this session's token. Reload the page and try again.",
        )));
    }
    Ok(session)
}

/// The session of a form post that changes something: right CSRF token and the admin role.
pub fn changer(
    request: &HttpRequest,
    admin: &Admin,
    csrf: &str,
) -> Result<Session, Box<HttpResponse>> {
    let session = poster(request, admin, csrf)?;
    if !session.role.allows(request.method()) {
        tracing::warn!(path = %request.path(), "Refused a change from a read-only admin session.");
        return Err(Box::new(layout::message(
            StatusCode::FORBIDDEN,
            &session,
            "Refused",
            "The read-only key sees everything and changes nothing; log in with the admin key.",
        )));
    }
    Ok(session)
}
