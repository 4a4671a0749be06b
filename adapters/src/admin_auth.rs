//! The admin keys and the roles they grant, shared by the bearer API ([`crate::admin`]) and the
//! admin page ([`crate::admin_page`]).
//!
//! * `ADMIN_API_KEY` grants [`Role::Admin`]: everything.
//! * `ADMIN_READONLY_KEY`, when set, grants [`Role::ReadOnly`]: every read, no change. The rule
//!   is by HTTP method (only `GET` and `HEAD` are reads), so a route added later is covered
//!   without knowing about roles.
//!
//! A given key is compared with both keys, always both, as SHA-256 digests in constant time:
//! neither the time taken nor a length mismatch tells a caller which key (if any) was close.

use actix_web::http::Method;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a key lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `ADMIN_API_KEY`: reads and changes.
    Admin,
    /// `ADMIN_READONLY_KEY`: reads only.
    ReadOnly,
}

impl Role {
    /// Whether this role may make a request with `method`.
    pub fn allows(self, method: &Method) -> bool {
        self == Role::Admin || method == Method::GET || method == Method::HEAD
    }

    /// The role's name on the page and in session cookies.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::ReadOnly => "read-only",
        }
    }

    /// The role named by [`Role::as_str`].
    pub fn parse(name: &str) -> Option<Role> {
        match name {
            "admin" => Some(Role::Admin),
            "read-only" => Some(Role::ReadOnly),
            _ => None,
        }
    }
}

/// The admin keys. `Debug` shows only whether the read-only role exists.
pub struct AdminKeys {
    admin: SecretString,
    readonly: Option<SecretString>,
}

impl std::fmt::Debug for AdminKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminKeys")
            .field("read_only_role", &self.readonly.is_some())
            .finish_non_exhaustive()
    }
}

impl AdminKeys {
    /// `admin` from `ADMIN_API_KEY`, `readonly` from `ADMIN_READONLY_KEY` (config has checked
    /// that they differ).
    pub fn new(admin: SecretString, readonly: Option<SecretString>) -> Self {
        AdminKeys { admin, readonly }
    }

    /// The role `given` grants, if it is one of the keys.
    pub fn role_of(&self, given: &str) -> Option<Role> {
        let given = Sha256::digest(given.as_bytes());
        let admin = matches(&given, &self.admin);
        // Compared even when the admin key matched, so the time taken says nothing.
        let readonly = self
            .readonly
            .as_ref()
            .is_some_and(|key| matches(&given, key));
        if admin {
            Some(Role::Admin)
        } else if readonly {
            Some(Role::ReadOnly)
        } else {
            None
        }
    }

    /// The secret that signs a role's session cookies, derived from that role's key: every
    /// replica with the same keys accepts the same sessions, and changing a key ends exactly
    /// the sessions it opened. `None` for a role without a key.
    pub fn session_secret(&self, role: Role) -> Option<[u8; 32]> {
        let key = match role {
            Role::Admin => &self.admin,
            Role::ReadOnly => self.readonly.as_ref()?,
        };
        let mut mac = Hmac::<Sha256>::new_from_slice(key.expose_secret().as_bytes()).ok()?;
        mac.update(b"alfred admin page session v1");
        Some(mac.finalize().into_bytes().into())
    }
}

fn matches(given: &[u8], key: &SecretString) -> bool {
    let key = Sha256::digest(key.expose_secret().as_bytes());
    bool::from(given.ct_eq(key.as_slice()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> AdminKeys {
        AdminKeys::new(
            SecretString::from("admin-key-0123456789"),
            Some(SecretString::from("reader-key-0123456789")),
        )
    }

    #[test]
    fn each_key_grants_its_role_and_nothing_else_grants_one() {
        let keys = keys();
        assert_eq!(keys.role_of("admin-key-0123456789"), Some(Role::Admin));
        assert_eq!(keys.role_of("reader-key-0123456789"), Some(Role::ReadOnly));
        assert_eq!(keys.role_of("admin-key-012345678"), None);
        assert_eq!(keys.role_of(""), None);
    }

    #[test]
    fn the_read_only_role_may_only_read() {
        assert!(Role::ReadOnly.allows(&Method::GET));
        assert!(Role::ReadOnly.allows(&Method::HEAD));
        assert!(!Role::ReadOnly.allows(&Method::POST));
        assert!(!Role::ReadOnly.allows(&Method::DELETE));
        assert!(Role::Admin.allows(&Method::POST));
    }

    #[test]
    fn the_roles_sign_with_different_secrets_and_a_missing_role_with_none() {
        let keys = keys();
        assert_ne!(
            keys.session_secret(Role::Admin),
            keys.session_secret(Role::ReadOnly)
        );
        let admin_only = AdminKeys::new(SecretString::from("admin-key-0123456789"), None);
        assert!(admin_only.session_secret(Role::ReadOnly).is_none());
        assert_eq!(admin_only.role_of("reader-key-0123456789"), None);
        assert!(!format!("{admin_only:?}").contains("admin-key"));
    }
}
