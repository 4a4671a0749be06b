//! The admin page's sessions: signed, stateless cookies, and the CSRF tokens derived from them.
//!
//! A session cookie is `{role}.{expires}.{nonce}.{mac}`: the role, its expiry (Unix seconds),
//! 16 random bytes and an HMAC-SHA256 of the three under the role's session secret
//! ([`AdminKeys::session_secret`], derived from the role's key). Why stateless:
//! * **replicas**: every replica with the same keys accepts every session, so a load balancer
//!   moving an operator between replicas (or a restart) logs nobody out;
//! * **rotation ends sessions**: a new `ADMIN_API_KEY` (or `ADMIN_READONLY_KEY`) changes the
//!   secret, and every session it opened stops verifying at once;
//! * **the price**: logging out removes the cookie from the browser but cannot revoke a copy
//!   taken before; such a copy lives until its expiry ([`LIFETIME`]) or a key change.
//!
//! The CSRF token of a session is an HMAC of its nonce under the same secret: fixed for the
//! session, unknown to anyone without the cookie, nothing to store. Every form carries it in a
//! hidden field and every POST is checked against it (on top of `SameSite=Strict`). The login
//! form, before any session exists, is guarded the double-submit way: a random token in a short
//! cookie ([`LOGIN_COOKIE`]) that the form must repeat.
//!
//! Expiry is read from the system clock, never the runtime's (a manual clock must not log the
//! operator out when moved).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::HttpRequest;
use hmac::{Hmac, Mac};
use subtle::ConstantTimeEq;

use crate::admin_auth::{AdminKeys, Role};

/// The session cookie's name.
pub const COOKIE: &str = "alfred_admin";
/// The login form's double-submit cookie.
pub const LOGIN_COOKIE: &str = "alfred_admin_login";
/// How long a session lasts from login: a working day.
pub const LIFETIME: Duration = Duration::from_secs(8 * 60 * 60);
/// How long a login form may be left open before it must be reloaded.
pub const LOGIN_LIFETIME: Duration = Duration::from_secs(30 * 60);

/// A verified session.
pub struct Session {
    pub role: Role,
    nonce: String,
    secret: [u8; 32],
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A new session for `role`, and its cookie value.
    pub fn open(keys: &AdminKeys, role: Role, now: u64) -> Option<(Session, String)> {
        let secret = keys.session_secret(role)?;
        let nonce = hex::encode(rand::random::<[u8; 16]>());
        let expires = now.saturating_add(LIFETIME.as_secs());
        let payload = format!("{}.{expires}.{nonce}", role.as_str());
        let mac = hex::encode(mac(&secret, payload.as_bytes())?.finalize().into_bytes());
        let value = format!("{payload}.{mac}");
        Some((
            Session {
                role,
                nonce,
                secret,
            },
            value,
        ))
    }

    /// The session a cookie value stands for, when its MAC verifies and it has not expired.
    pub fn verify(keys: &AdminKeys, value: &str, now: u64) -> Option<Session> {
        let (payload, given_mac) = value.rsplit_once('.')?;
        let mut parts = payload.split('.');
        let (role, expires, nonce) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let role = Role::parse(role)?;
        let secret = keys.session_secret(role)?;
        let given_mac = hex::decode(given_mac).ok()?;
        mac(&secret, payload.as_bytes())?
            .verify_slice(&given_mac)
            .ok()?;
        let expires: u64 = expires.parse().ok()?;
        (now < expires).then(|| Session {
            role,
            nonce: nonce.to_owned(),
            secret,
        })
    }

    /// The session's CSRF token, for the hidden field of every form.
    pub fn csrf_token(&self) -> String {
        let mac = mac(&self.secret, format!("csrf.{}", self.nonce).as_bytes());
        mac.map(|mac| hex::encode(mac.finalize().into_bytes()))
            .unwrap_or_default()
    }

    /// Whether a form's token is this session's.
    pub fn csrf_matches(&self, given: &str) -> bool {
        let expected = self.csrf_token();
        !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
    }
}

fn mac(secret: &[u8], message: &[u8]) -> Option<Hmac<sha2::Sha256>> {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).ok()?;
    mac.update(message);
    Some(mac)
}

/// A fresh random token for the login form.
pub fn login_token() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// Whether the login form's token matches its cookie.
pub fn login_token_matches(request: &HttpRequest, given: &str) -> bool {
    cookie(request, LOGIN_COOKIE).is_some_and(|expected| {
        !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
    })
}

/// A `Set-Cookie` value: only sent to the admin paths, never to scripts, never cross-site.
pub fn set_cookie(name: &str, value: &str, max_age: Duration) -> String {
    format!(
        "{name}={value}; Path=/admin; Max-Age={}; HttpOnly; SameSite=Strict",
        max_age.as_secs()
    )
}

/// A `Set-Cookie` value that removes the cookie.
pub fn clear_cookie(name: &str) -> String {
    set_cookie(name, "", Duration::ZERO)
}

/// The value of cookie `name` in the request.
pub fn cookie(request: &HttpRequest, name: &str) -> Option<String> {
    request
        .headers()
        .get_all(actix_web::http::header::COOKIE)
        .filter_map(|header| header.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// The session of a request, if it carries a valid one.
pub fn of_request(request: &HttpRequest, keys: &AdminKeys) -> Option<Session> {
    Session::verify(keys, &cookie(request, COOKIE)?, unix_now())
}

/// Seconds since the Unix epoch by the system clock.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn keys() -> AdminKeys {
        AdminKeys::new(
            SecretString::from("admin-key-0123456789"),
            Some(SecretString::from("reader-key-0123456789")),
        )
    }

    #[test]
    fn a_session_verifies_until_it_expires() {
        let keys = keys();
        let (session, cookie) = Session::open(&keys, Role::ReadOnly, 1_000).unwrap();
        let verified = Session::verify(&keys, &cookie, 1_000 + LIFETIME.as_secs() - 1).unwrap();
        assert_eq!(verified.role, Role::ReadOnly);
        assert_eq!(verified.csrf_token(), session.csrf_token());
        assert!(Session::verify(&keys, &cookie, 1_000 + LIFETIME.as_secs()).is_none());
    }

    #[test]
    fn a_cookie_with_a_changed_role_or_expiry_does_not_verify() {
        let keys = keys();
        let (_, cookie) = Session::open(&keys, Role::ReadOnly, 1_000).unwrap();
        let promoted = cookie.replacen("read-only", "admin", 1);
        let (_, rest) = cookie.split_once('.').unwrap();
        let (_, rest) = rest.split_once('.').unwrap();
        let extended = format!("read-only.99999999999.{rest}");
        assert!(Session::verify(&keys, &promoted, 1_000).is_none());
        assert!(Session::verify(&keys, &extended, 1_000).is_none());
        assert!(Session::verify(&keys, "garbage", 1_000).is_none());
    }

    #[test]
    fn a_new_key_ends_the_sessions_the_old_one_opened() {
        let (_, cookie) = Session::open(&keys(), Role::Admin, 1_000).unwrap();
        let rotated = AdminKeys::new(SecretString::from("admin-key-rotated-0123"), None);
        assert!(Session::verify(&rotated, &cookie, 1_000).is_none());
    }

    #[test]
    fn each_session_has_its_own_csrf_token() {
        let keys = keys();
        let (first, _) = Session::open(&keys, Role::Admin, 1_000).unwrap();
        let (second, _) = Session::open(&keys, Role::Admin, 1_000).unwrap();
        assert!(first.csrf_matches(&first.csrf_token()));
        assert!(!first.csrf_matches(&second.csrf_token()));
        assert!(!first.csrf_matches(""));
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_scoped_to_the_admin_paths() {
        let header = set_cookie(COOKIE, "v", LIFETIME);
        assert_eq!(
            header,
            "alfred_admin=v; Path=/admin; Max-Age=28800; HttpOnly; SameSite=Strict"
        );
    }
}
