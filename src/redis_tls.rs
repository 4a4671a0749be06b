//! Connecting the Redis bus, over TLS for a `rediss://` `REDIS_URL`.
//!
//! The bus itself is lazy: Alfred starts with Redis down and waits for it. A TLS certificate
//! problem is not an outage, though: it lasts until an operator changes a certificate or a
//! setting, and waiting would only hide it behind a failing `/readyz`. So with `rediss://`
//! start-up opens one connection and stops on a certificate problem, with an error that names
//! the variable to change and says what is wrong; an unreachable server still only waits.

use alfred_actors::bus::redis::{RedisBus, RedisBusConfig, TlsProblem};
use alfred_config::{RedisTls, Settings};
use anyhow::Context as _;

/// The Redis bus on `url` with the settings' TLS files; for `rediss://`, checked once.
pub async fn connect_redis(settings: &Settings, url: &str) -> anyhow::Result<RedisBus> {
    let tls = &settings.redis_tls;
    let config = RedisBusConfig {
        reader_pool_size: reader_pool_size(settings),
        ..RedisBusConfig::default()
    };
    let bus = RedisBus::connect_with_tls(url, config, tls).context("Failed to set up Redis")?;
    if url.trim_start().starts_with("rediss://") {
        if let Err(problem) = bus.check_tls().await {
            anyhow::bail!(explain(&problem, tls));
        }
    }
    Ok(bus)
}

/// Connections for blocking reads: each reader holds one while it blocks, so at least every
/// reader this process may run — the single stream's, the outbox's and, with partitions, one
/// per partition (a replica alone owns them all) — with the default as the floor.
fn reader_pool_size(settings: &Settings) -> usize {
    let partitions = usize::try_from(settings.tuning.ingest_partitions).unwrap_or(usize::MAX);
    let readers = crate::runtime::single_stream_readers(settings)
        .saturating_add(partitions)
        .saturating_add(1);
    readers.max(RedisBusConfig::default().reader_pool_size)
}

/// The variable to change, what is wrong, and what to do.
fn explain(problem: &TlsProblem, tls: &RedisTls) -> String {
    match problem {
        TlsProblem::UnknownIssuer => match &tls.ca {
            Some(ca) => format!(
                "REDIS_URL, REDIS_CA_FILE: {problem}; REDIS_CA_FILE ({}) does not hold the CA that issued it",
                ca.path.display()
            ),
            None => format!(
                "REDIS_URL: {problem}; if the server's certificate comes from a private CA, set REDIS_CA_FILE to that CA's certificate (PEM)"
            ),
        },
        TlsProblem::NameMismatch { .. } => format!(
            "REDIS_URL: {problem}; put the host name the certificate was issued for in REDIS_URL"
        ),
        TlsProblem::Expired | TlsProblem::NotValidYet => format!(
            "REDIS_URL: {problem}; the Redis server needs a valid certificate"
        ),
        TlsProblem::ClientCertificateRequired => format!(
            "REDIS_CLIENT_CERT_FILE, REDIS_CLIENT_KEY_FILE: {problem}; set both to the client certificate and key the server accepts"
        ),
        TlsProblem::ClientCertificateRejected(_) | TlsProblem::ClientIdentity(_) => format!(
            "REDIS_CLIENT_CERT_FILE, REDIS_CLIENT_KEY_FILE: {problem}"
        ),
        TlsProblem::Other(_) => format!(
            "REDIS_URL: {problem}; check that the host and port in REDIS_URL speak TLS"
        ),
    }
}
