//! Redis over TLS: `REDIS_CA_FILE`, `REDIS_CLIENT_CERT_FILE` and `REDIS_CLIENT_KEY_FILE`.
//!
//! A `rediss://` `REDIS_URL` is TLS with the public web roots, which is all a hosted Redis
//! (Upstash) needs. These variables add a private CA and a client certificate (mutual TLS).
//! They only mean something with `rediss://`: with `redis://` they are refused, not ignored, so
//! an operator who thinks the connection is encrypted learns at once that it is not.
//!
//! The files are read and checked here, with every other setting: an unreadable file, a file
//! without a PEM certificate, a certificate that does not parse or a key that is not a private
//! key is a configuration problem naming the variable. What can only be known by connecting
//! (an untrusted or expired server certificate) is checked at start-up by the process.
//!
//! The client key is a secret: it is held as a [`SecretString`] and no message quotes it.

use std::path::PathBuf;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use secrecy::{ExposeSecret, SecretString};

use crate::reader::Reader;

/// `REDIS_CA_FILE`.
pub const CA_FILE: &str = "REDIS_CA_FILE";
/// `REDIS_CLIENT_CERT_FILE`.
pub const CLIENT_CERT_FILE: &str = "REDIS_CLIENT_CERT_FILE";
/// `REDIS_CLIENT_KEY_FILE`.
pub const CLIENT_KEY_FILE: &str = "REDIS_CLIENT_KEY_FILE";

/// The TLS material of a `rediss://` connection beyond the web roots; empty by default.
#[derive(Debug, Clone, Default)]
pub struct RedisTls {
    /// `REDIS_CA_FILE`: certificate authorities trusted in addition to the web roots.
    pub ca: Option<PemFile>,
    /// `REDIS_CLIENT_CERT_FILE` and `REDIS_CLIENT_KEY_FILE`: the certificate this client shows
    /// a server that requires one.
    pub client: Option<ClientIdentity>,
}

impl RedisTls {
    /// Whether any of the three variables was given.
    pub fn is_empty(&self) -> bool {
        self.ca.is_none() && self.client.is_none()
    }
}

/// A PEM file of one or more certificates, as read at load time. `Debug` shows the path and
/// the size, not pages of base64.
#[derive(Clone)]
pub struct PemFile {
    /// Where it was read from (for messages).
    pub path: PathBuf,
    /// Its content: one or more `CERTIFICATE` blocks, each checked to parse.
    pub pem: String,
}

impl std::fmt::Debug for PemFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PemFile")
            .field("path", &self.path)
            .field("bytes", &self.pem.len())
            .finish()
    }
}

/// A client certificate (chain) and its private key. `Debug` does not print the key.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    /// `REDIS_CLIENT_CERT_FILE`: the certificate, then any intermediates.
    pub cert: PemFile,
    /// `REDIS_CLIENT_KEY_FILE`: where the key was read from.
    pub key_path: PathBuf,
    /// The key in PEM (PKCS#8, PKCS#1 or SEC1). Secret.
    pub key_pem: SecretString,
}

/// Reads the three variables; `redis_url` is the valid `REDIS_URL`, if any (an invalid one
/// is reported elsewhere).
pub(crate) fn redis_tls(r: &mut Reader, redis_url: Option<&SecretString>) -> RedisTls {
    let redis_url_given = r.secret_is_set("REDIS_URL");
    let given: Vec<&str> = [CA_FILE, CLIENT_CERT_FILE, CLIENT_KEY_FILE]
        .into_iter()
        .filter(|name| r.plain(name).is_some())
        .collect();
    if given.is_empty() {
        return RedisTls::default();
    }
    let scheme_is_tls = redis_url.map(|url| url.expose_secret().trim().starts_with("rediss://"));
    for name in &given {
        match scheme_is_tls {
            Some(true) => {}
            // The URL itself is never quoted: it may hold a password.
            Some(false) => r.problem(
                name,
                "is only used with a rediss:// REDIS_URL (Redis over TLS), and REDIS_URL does not start with rediss://: use rediss:// or remove it",
            ),
            None if redis_url_given => {}
            None => r.problem(
                name,
                "is only used with a rediss:// REDIS_URL (Redis over TLS), and REDIS_URL is not set",
            ),
        }
    }
    let ca = certificates(r, CA_FILE, true);
    let cert = certificates(r, CLIENT_CERT_FILE, false);
    let key = private_key(r);
    match (r.plain(CLIENT_CERT_FILE).is_some(), r.plain(CLIENT_KEY_FILE).is_some()) {
        (true, false) => r.problem(
            CLIENT_KEY_FILE,
            "is required because REDIS_CLIENT_CERT_FILE is set (a client certificate needs its private key)",
        ),
        (false, true) => r.problem(
            CLIENT_CERT_FILE,
            "is required because REDIS_CLIENT_KEY_FILE is set (a private key needs its client certificate)",
        ),
        _ => {}
    }
    let client = match (cert, key) {
        (Some(cert), Some((key_path, key_pem))) => Some(ClientIdentity {
            cert,
            key_path,
            key_pem,
        }),
        _ => None,
    };
    RedisTls { ca, client }
}

/// The PEM certificates in the file named by `name`; each must parse as an X.509 certificate
/// (as a trust anchor when `anchors`).
fn certificates(r: &mut Reader, name: &str, anchors: bool) -> Option<PemFile> {
    let path = r.plain(name)?;
    let pem = match std::fs::read_to_string(&path) {
        Ok(pem) => pem,
        Err(error) => {
            r.problem(name, format!("cannot read the file {path}: {error}"));
            return None;
        }
    };
    let mut found = 0;
    for (index, certificate) in CertificateDer::pem_slice_iter(pem.as_bytes()).enumerate() {
        let number = index + 1;
        let Ok(certificate) = certificate else {
            r.problem(
                name,
                format!("{path} is not valid PEM (certificate {number} is damaged)"),
            );
            return None;
        };
        let parses = if anchors {
            webpki::anchor_from_trusted_cert(&certificate).is_ok()
        } else {
            webpki::EndEntityCert::try_from(&certificate).is_ok()
        };
        if !parses {
            r.problem(
                name,
                format!("{path}: certificate {number} is not a valid X.509 certificate"),
            );
            return None;
        }
        found += 1;
    }
    if found == 0 {
        r.problem(
            name,
            format!("{path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)"),
        );
        return None;
    }
    Some(PemFile {
        path: PathBuf::from(path),
        pem,
    })
}

/// The private key in `REDIS_CLIENT_KEY_FILE`. Messages say what is wrong, never the content.
fn private_key(r: &mut Reader) -> Option<(PathBuf, SecretString)> {
    let path = r.plain(CLIENT_KEY_FILE)?;
    let pem = match std::fs::read_to_string(&path) {
        Ok(pem) => SecretString::from(pem),
        Err(error) => {
            r.problem(
                CLIENT_KEY_FILE,
                format!("cannot read the file {path}: {error}"),
            );
            return None;
        }
    };
    if PrivateKeyDer::from_pem_slice(pem.expose_secret().as_bytes()).is_err() {
        r.problem(
            CLIENT_KEY_FILE,
            format!("{path} holds no PEM private key (PKCS#8, PKCS#1 or SEC1)"),
        );
        return None;
    }
    Some((PathBuf::from(path), pem))
}
