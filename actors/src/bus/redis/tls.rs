//! Redis over TLS (`rediss://`): what the client trusts and shows, and the start-up check
//! that tells a certificate problem from a server that is merely down.
//!
//! The redis crate does the TLS itself (rustls with the ring provider, the only one built):
//! every connection of every kind (command pool, reader pool, writer) is made from the one
//! [`ConnectionInfo`] built here, so all of them are encrypted and trust the same roots.
//!
//! Trust: the public web roots; with `REDIS_CA_FILE`, its certificates *as well*. The redis
//! crate replaces its web roots with whatever PEM it is given, so the web roots are handed to
//! it as PEM too (from `webpki-root-certs`), followed by the file's certificates: the same
//! rule as `IMAP_CA_FILE` (docs/adr/2026-12-02-redis-over-tls.md).
//!
//! Why a start-up check: the pools are lazy (the process starts with Redis down and waits),
//! and a TLS failure looks like any I/O error to the pool, which would make an untrusted
//! certificate look like an outage forever. A certificate that is not trusted, names another
//! host or has expired stays so until an operator acts, so `RedisBus::check_tls` opens one
//! connection and reports such a failure as a [`TlsProblem`]; an unreachable server is not a
//! problem here.

use std::error::Error;
use std::fmt;
use std::sync::Arc;

use alfred_config::redis_tls::RedisTls;
use alfred_config::ExposeSecret;
use base64::Engine as _;
use deadpool_redis::redis::{
    self, ClientTlsConfig, ConnectionInfo, ErrorKind, IntoConnectionInfo, RedisError,
    TlsCertificates,
};
use deadpool_redis::PoolError;

use super::connection::RedisPool;
use rustls::{AlertDescription, CertificateError};

use crate::bus::BusError;

/// Where to connect and, for `rediss://`, with which roots and client certificate. Errors
/// never quote the URL (it may hold a password) nor the key.
pub(super) fn connection_info(url: &str, tls: &RedisTls) -> Result<ConnectionInfo, BusError> {
    let info = url
        .into_connection_info()
        .map_err(|_| BusError::Other("the Redis URL is not valid".to_owned()))?;
    let is_tls = url.trim_start().starts_with("rediss://");
    if !is_tls {
        if !tls.is_empty() {
            return Err(BusError::Other(
                "TLS files are given for a Redis URL that is not rediss://".to_owned(),
            ));
        }
        return Ok(info);
    }
    if tls.is_empty() {
        // The redis crate's own web roots (the `tls-rustls-webpki-roots` feature).
        return Ok(info);
    }
    let client = redis::Client::build_with_tls(info, certificates(tls))
        // The settings checked the files; what is left is said without their content.
        .map_err(|error| {
            BusError::Other(format!("cannot set up TLS for Redis: {:?}", error.kind()))
        })?;
    Ok(client.get_connection_info().clone())
}

/// The nodes of a cluster `REDIS_URL` and, for `rediss://` with TLS files, the certificates
/// every node connection uses (the cluster client takes them once, not per node). The nodes must
/// agree on the scheme. Errors never quote a URL.
pub(super) fn cluster_nodes_info(
    nodes: &[&str],
    tls: &RedisTls,
) -> Result<(Vec<ConnectionInfo>, Option<TlsCertificates>), BusError> {
    let secure = nodes
        .iter()
        .filter(|node| node.starts_with("rediss://"))
        .count();
    if secure != 0 && secure != nodes.len() {
        return Err(BusError::Other(
            "the Redis Cluster nodes in REDIS_URL mix redis:// and rediss://: use one scheme for all"
                .to_owned(),
        ));
    }
    if secure == 0 && !tls.is_empty() {
        return Err(BusError::Other(
            "TLS files are given for a Redis URL that is not rediss://".to_owned(),
        ));
    }
    let infos = nodes
        .iter()
        .map(|node| node.into_connection_info())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| {
            BusError::Other("a Redis Cluster node in REDIS_URL is not a valid URL".to_owned())
        })?;
    let certificates = (!tls.is_empty()).then(|| certificates(tls));
    Ok((infos, certificates))
}

/// The roots (the web roots, then `REDIS_CA_FILE`'s) and the client certificate of the settings.
fn certificates(tls: &RedisTls) -> TlsCertificates {
    let root_cert = tls.ca.as_ref().map(|ca| {
        let mut pem = web_roots_pem();
        pem.push_str(&ca.pem);
        pem.push('\n');
        pem.into_bytes()
    });
    let client_tls = tls.client.as_ref().map(|client| ClientTlsConfig {
        client_cert: client.cert.pem.clone().into_bytes(),
        client_key: client.key_pem.expose_secret().as_bytes().to_vec(),
    });
    TlsCertificates {
        client_tls,
        root_cert,
    }
}

/// The web PKI roots as PEM, for the redis crate, which takes roots only in that form.
fn web_roots_pem() -> String {
    let engine = base64::engine::general_purpose::STANDARD;
    let mut pem = String::new();
    for certificate in webpki_root_certs::TLS_SERVER_ROOT_CERTS {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        let encoded = engine.encode(certificate.as_ref());
        for line in encoded.as_bytes().chunks(64) {
            pem.extend(line.iter().copied().map(char::from));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    pem
}

/// A TLS failure that trying again will not fix, in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsProblem {
    /// The server's certificate chains to no trusted CA.
    UnknownIssuer,
    /// The certificate does not name the host of the URL; `presented` are the names it has.
    NameMismatch {
        /// The names in the server's certificate, when rustls reports them.
        presented: Vec<String>,
    },
    /// The certificate has expired.
    Expired,
    /// The certificate is not valid yet (or the clock is wrong).
    NotValidYet,
    /// The server requires a client certificate and none was given.
    ClientCertificateRequired,
    /// The server refused the client certificate (e.g. issued by a CA it does not trust).
    ClientCertificateRejected(String),
    /// The client certificate and key cannot be used together.
    ClientIdentity(String),
    /// Any other TLS failure: e.g. the port does not speak TLS, or an invalid certificate.
    Other(String),
}

impl fmt::Display for TlsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsProblem::UnknownIssuer => f.write_str(
                "the Redis server's certificate is not trusted: its issuer is unknown (neither a public CA nor one in REDIS_CA_FILE)",
            ),
            TlsProblem::NameMismatch { presented } if presented.is_empty() => f.write_str(
                "the Redis server's certificate is for another host (name mismatch with the host in REDIS_URL)",
            ),
            TlsProblem::NameMismatch { presented } => write!(
                f,
                "the Redis server's certificate is for another host (name mismatch: it names {}, not the host in REDIS_URL)",
                presented.join(", ")
            ),
            TlsProblem::Expired => f.write_str("the Redis server's certificate has expired"),
            TlsProblem::NotValidYet => f.write_str(
                "the Redis server's certificate is not valid yet (check this machine's clock)",
            ),
            TlsProblem::ClientCertificateRequired => f.write_str(
                "the Redis server requires a client certificate (mutual TLS), and none is set",
            ),
            TlsProblem::ClientCertificateRejected(detail) => write!(
                f,
                "the Redis server refused the client certificate ({detail})"
            ),
            TlsProblem::ClientIdentity(detail) => write!(
                f,
                "the client certificate and key cannot be used ({detail})"
            ),
            TlsProblem::Other(detail) => write!(f, "TLS with the Redis server failed: {detail}"),
        }
    }
}

impl Error for TlsProblem {}

/// Opens one connection of `pool` and sends `PING`: `Err` only for a TLS failure that will
/// not go away by itself (see the module doc). A server that cannot be reached, or any other
/// failure, is `Ok`: the process starts and waits for Redis as it always has.
pub(super) async fn check(pool: &RedisPool) -> Result<(), TlsProblem> {
    let failure = match pool.get().await {
        Ok(mut conn) => {
            let ping: Result<redis::Value, RedisError> =
                redis::cmd("PING").query_async(&mut conn).await;
            match ping {
                Ok(_) => return Ok(()),
                Err(error) => error,
            }
        }
        Err(PoolError::Backend(error)) => error,
        Err(_) => return Ok(()),
    };
    match tls_problem(&failure) {
        Some(problem) => Err(problem),
        None => {
            tracing::warn!(error = %failure, "Redis could not be reached at start-up; starting anyway, /readyz reports it until it can.");
            Ok(())
        }
    }
}

/// The permanent TLS failure behind `error`, if that is what it is.
fn tls_problem(error: &RedisError) -> Option<TlsProblem> {
    if error.kind() == ErrorKind::InvalidClientConfig {
        return Some(TlsProblem::ClientIdentity(error.to_string()));
    }
    let tls = find_rustls(error)?;
    Some(match tls {
        rustls::Error::InvalidCertificate(certificate) => match certificate {
            CertificateError::UnknownIssuer => TlsProblem::UnknownIssuer,
            CertificateError::NotValidForName => TlsProblem::NameMismatch {
                presented: Vec::new(),
            },
            CertificateError::NotValidForNameContext { presented, .. } => {
                TlsProblem::NameMismatch {
                    presented: presented.clone(),
                }
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                TlsProblem::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                TlsProblem::NotValidYet
            }
            other => TlsProblem::Other(format!("the server's certificate is invalid: {other:?}")),
        },
        rustls::Error::AlertReceived(AlertDescription::CertificateRequired) => {
            TlsProblem::ClientCertificateRequired
        }
        rustls::Error::AlertReceived(
            alert @ (AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::CertificateUnknown
            | AlertDescription::CertificateExpired
            | AlertDescription::CertificateRevoked
            | AlertDescription::UnsupportedCertificate
            | AlertDescription::AccessDenied),
        ) => TlsProblem::ClientCertificateRejected(format!("the server said {alert:?}")),
        other => TlsProblem::Other(other.to_string()),
    })
}

/// The rustls error somewhere in `error`'s chain. The redis crate keeps its cause as an
/// `Arc<dyn Error>`, and tokio-rustls wraps the TLS error in an `io::Error` whose `source()`
/// skips it, so both are looked into explicitly.
fn find_rustls<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    if let Some(io) = error.downcast_ref::<std::io::Error>() {
        if let Some(found) = io.get_ref().and_then(|inner| find_rustls(inner)) {
            return Some(found);
        }
    }
    if let Some(shared) = error.downcast_ref::<Arc<dyn Error + Send + Sync>>() {
        if let Some(found) = find_rustls(&**shared) {
            return Some(found);
        }
    }
    error.source().and_then(find_rustls)
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    #[test]
    fn the_web_roots_survive_the_trip_through_pem() {
        let pem = super::web_roots_pem();
        let parsed: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(parsed, webpki_root_certs::TLS_SERVER_ROOT_CERTS.to_vec());
        assert!(parsed.len() > 100, "only {} roots", parsed.len());
    }
}
