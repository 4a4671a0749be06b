//! `REDIS_CA_FILE`, `REDIS_CLIENT_CERT_FILE`, `REDIS_CLIENT_KEY_FILE`: read and checked with
//! every other setting, only with a `rediss://` `REDIS_URL`, the key never in a message.
// `certificates` is a helper, not a `#[test]`, so clippy.toml's test allowance does not reach
// it; a failed unwrap there fails the calling test.
#![allow(clippy::unwrap_used)]

mod common;

use alfred_config::ExposeSecret;
use common::{fail, load, TempFile};

const DATABASE_URL: (&str, &str) = ("DATABASE_URL", "postgres://alfred@db/alfred");
const TLS_URL: (&str, &str) = ("REDIS_URL", "rediss://:pw@cache.example.com:6380");

/// A CA certificate, and a client certificate with its key, as PEM.
fn certificates() -> (String, String, String) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();
    let client_key = rcgen::KeyPair::generate().unwrap();
    let client = rcgen::CertificateParams::new(vec!["alfred".to_owned()])
        .unwrap()
        .signed_by(&client_key, &ca)
        .unwrap();
    (ca.pem(), client.pem(), client_key.serialize_pem())
}

#[test]
fn a_tls_redis_url_needs_no_tls_file_the_web_roots_suffice() {
    let s = load(&[TLS_URL, DATABASE_URL]);
    assert!(s.redis_tls.is_empty());
}

#[test]
fn a_ca_file_and_a_client_certificate_are_read_with_the_settings() {
    let (ca, cert, key) = certificates();
    let (ca_file, cert_file, key_file) = (
        TempFile::with(ca.as_bytes()),
        TempFile::with(cert.as_bytes()),
        TempFile::with(key.as_bytes()),
    );
    let s = load(&[
        TLS_URL,
        DATABASE_URL,
        ("REDIS_CA_FILE", ca_file.path()),
        ("REDIS_CLIENT_CERT_FILE", cert_file.path()),
        ("REDIS_CLIENT_KEY_FILE", key_file.path()),
    ]);
    let ca_read = s.redis_tls.ca.as_ref().unwrap();
    assert_eq!(ca_read.pem, ca);
    assert_eq!(ca_read.path.to_str(), Some(ca_file.path()));
    let client = s.redis_tls.client.as_ref().unwrap();
    assert_eq!(client.cert.pem, cert);
    assert_eq!(client.key_pem.expose_secret(), key);
    // The key never prints.
    let debug = format!("{s:?}");
    assert!(!debug.contains("PRIVATE KEY"), "{debug}");
}

#[test]
fn tls_files_with_a_plain_redis_url_are_refused_naming_each() {
    let (ca, _, _) = certificates();
    let ca_file = TempFile::with(ca.as_bytes());
    let err = fail(&[
        ("REDIS_URL", "redis://:secret-pw@cache:6379"),
        DATABASE_URL,
        ("REDIS_CA_FILE", ca_file.path()),
    ]);
    let problem = err.problems_for("REDIS_CA_FILE").next().unwrap();
    assert!(problem.message.contains("rediss://"), "{problem}");
    assert!(!err.to_string().contains("secret-pw"), "{err}");
}

#[test]
fn tls_files_without_any_redis_url_are_refused() {
    let (ca, _, _) = certificates();
    let ca_file = TempFile::with(ca.as_bytes());
    let err = fail(&[("REDIS_CA_FILE", ca_file.path())]);
    let problem = err.problems_for("REDIS_CA_FILE").next().unwrap();
    assert!(
        problem.message.contains("REDIS_URL is not set"),
        "{problem}"
    );
}

#[test]
fn unreadable_and_invalid_files_are_reported_together_naming_each_variable() {
    let not_pem = TempFile::with(b"hello, I am not a certificate\n");
    let damaged = TempFile::with(
        b"-----BEGIN CERTIFICATE-----\nMIIBdamagedAAAA\n-----END CERTIFICATE-----\n",
    );
    let err = fail(&[
        TLS_URL,
        DATABASE_URL,
        ("REDIS_CA_FILE", "/nonexistent/alfred-ca.pem"),
        ("REDIS_CLIENT_CERT_FILE", damaged.path()),
        ("REDIS_CLIENT_KEY_FILE", not_pem.path()),
        ("HTTP_ADDR", "not an address"),
    ]);
    let message = |name| err.problems_for(name).next().unwrap().message.clone();
    assert!(message("REDIS_CA_FILE").contains("cannot read"), "{err}");
    assert!(
        message("REDIS_CLIENT_CERT_FILE").contains("not a valid X.509 certificate")
            || message("REDIS_CLIENT_CERT_FILE").contains("not valid PEM"),
        "{err}"
    );
    assert!(
        message("REDIS_CLIENT_KEY_FILE").contains("no PEM private key"),
        "{err}"
    );
    assert!(err.names("HTTP_ADDR"), "{err}");
}

#[test]
fn a_file_without_certificates_is_refused() {
    let (_, _, key) = certificates();
    let only_key = TempFile::with(key.as_bytes());
    let err = fail(&[TLS_URL, DATABASE_URL, ("REDIS_CA_FILE", only_key.path())]);
    let problem = err.problems_for("REDIS_CA_FILE").next().unwrap();
    assert!(problem.message.contains("no PEM certificate"), "{problem}");
    // A key put where a certificate belongs is not quoted back.
    assert!(!err.to_string().contains("PRIVATE KEY-----\n"), "{err}");
}

#[test]
fn a_client_certificate_and_its_key_come_together() {
    let (_, cert, key) = certificates();
    let (cert_file, key_file) = (
        TempFile::with(cert.as_bytes()),
        TempFile::with(key.as_bytes()),
    );
    let err = fail(&[
        TLS_URL,
        DATABASE_URL,
        ("REDIS_CLIENT_CERT_FILE", cert_file.path()),
    ]);
    assert!(err.names("REDIS_CLIENT_KEY_FILE"), "{err}");
    let err = fail(&[
        TLS_URL,
        DATABASE_URL,
        ("REDIS_CLIENT_KEY_FILE", key_file.path()),
    ]);
    assert!(err.names("REDIS_CLIENT_CERT_FILE"), "{err}");
    assert!(!err.to_string().contains("PRIVATE KEY"), "{err}");
}
