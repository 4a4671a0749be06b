//! Logging in and out: `GET /admin/login` (the form), `POST /admin/login` (the key, through the
//! same per-address slow-down as the bearer API), `POST /admin/logout`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use maud::html;
use serde::Deserialize;

use super::guard;
use super::layout;
use super::nav;
use super::session::{self, Session};
use crate::admin::{retry_after_secs, Admin, KeyRefusal};

/// The login form's fields.
#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    csrf: String,
}

// The key is a secret: never in Debug output.
impl std::fmt::Debug for LoginForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginForm").finish_non_exhaustive()
    }
}

/// A form that only carries the CSRF token.
#[derive(Debug, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub csrf: String,
}

pub async fn form(request: HttpRequest, admin: web::Data<Admin>) -> HttpResponse {
    if session::of_request(&request, &admin.keys).is_some() {
        return layout::see_other(nav::TREE);
    }
    login_page(StatusCode::OK, None)
}

#[tracing::instrument(name = "admin_page_login", skip_all)]
pub async fn login(
    request: HttpRequest,
    admin: web::Data<Admin>,
    form: web::Form<LoginForm>,
) -> HttpResponse {
    if !session::login_token_matches(&request, &form.csrf) {
        tracing::warn!("Refused an admin login whose form token did not match its cookie.");
        return login_page(
            StatusCode::FORBIDDEN,
            Some("The login form had expired or came from elsewhere. Please try again."),
        );
    }
    let peer = request.peer_addr().map(|addr| addr.ip());
    match admin.check_key(peer, Some(&form.key), request.path()) {
        Ok(role) => {
            let Some((_, cookie)) = Session::open(&admin.keys, role, session::unix_now()) else {
                return login_page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Some("Could not open a session."),
                );
            };
            tracing::info!(
                role = role.as_str(),
                "Operator logged in to the admin page."
            );
            HttpResponse::SeeOther()
                .insert_header((header::LOCATION, nav::TREE))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .append_header((
                    header::SET_COOKIE,
                    session::set_cookie(session::COOKIE, &cookie, session::LIFETIME),
                ))
                .append_header((
                    header::SET_COOKIE,
                    session::clear_cookie(session::LOGIN_COOKIE),
                ))
                .finish()
        }
        Err(KeyRefusal::Wrong) => {
            login_page(StatusCode::UNAUTHORIZED, Some("That key is not right."))
        }
        Err(KeyRefusal::SlowedDown(wait)) => {
            let secs = retry_after_secs(wait);
            let mut page = login_page(
                StatusCode::TOO_MANY_REQUESTS,
                Some(&format!(
                    "Too many wrong keys from this address. Try again in {secs} s."
                )),
            );
            if let Ok(value) = header::HeaderValue::from_str(&secs.to_string()) {
                page.headers_mut().insert(header::RETRY_AFTER, value);
            }
            page
        }
    }
}

#[tracing::instrument(name = "admin_page_logout", skip_all)]
pub async fn logout(
    request: HttpRequest,
    admin: web::Data<Admin>,
    form: web::Form<TokenForm>,
) -> HttpResponse {
    if let Err(refusal) = guard::poster(&request, &admin, &form.csrf) {
        return *refusal;
    }
    tracing::info!("Operator logged out of the admin page.");
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, nav::LOGIN))
        .insert_header((header::SET_COOKIE, session::clear_cookie(session::COOKIE)))
        .finish()
}

/// The login form with a fresh double-submit token (in the form and in a short cookie).
fn login_page(status: StatusCode, problem: Option<&str>) -> HttpResponse {
    let token = session::login_token();
    let body = html! {
        @if let Some(problem) = problem {
            p.notice.error role="alert" { (problem) }
        }
        form.card method="post" action=(nav::LOGIN) {
            input type="hidden" name="csrf" value=(token);
            label for="key" { "Admin key" }
            input #key type="password" name="key" autocomplete="current-password" required autofocus;
            p.hint { "ADMIN_API_KEY to operate, or ADMIN_READONLY_KEY to look." }
            button.primary type="submit" { "Log in" }
        }
    };
    let mut page = layout::bare(status, "Log in", body);
    let cookie = session::set_cookie(session::LOGIN_COOKIE, &token, session::LOGIN_LIFETIME);
    if let Ok(value) = header::HeaderValue::from_str(&cookie) {
        page.headers_mut().append(header::SET_COOKIE, value);
    }
    page
}
