//! Postgres over TLS: rustls with the ring provider behind tokio-postgres's `MakeTlsConnect`,
//! with libpq's `sslmode` semantics (docs/adr/2026-12-02-postgres-tls-and-poolers.md).
//!
//! | `sslmode` | TLS | chain checked | host name checked |
//! |---|---|---|---|
//! | `disable` | never | – | – |
//! | `prefer` (default) | if the server offers it | no | no |
//! | `require` | always (a server without TLS is refused) | no (yes with `sslrootcert`, libpq's rule) | no |
//! | `verify-ca` | always | yes | no |
//! | `verify-full` | always | yes | yes |
//!
//! The trust anchors are the public web PKI roots, or only the certificates in `sslrootcert`
//! when it is given (as libpq does). tokio-postgres itself negotiates (`SSLRequest`) and
//! refuses a server without TLS under `require`; this module supplies the handshake and turns
//! a rejected certificate into a sentence naming `DATABASE_URL` ([`explain`]).
//!
//! Channel binding (`SCRAM-SHA-256-PLUS`) is not offered: its hash depends on the certificate's
//! signature algorithm, and plain SCRAM over a verified TLS connection is what libpq does by
//! default too.

use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use alfred_config::postgres_url::{RootCert, SslMode};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect};

/// What a connection's TLS insists on, kept to explain failures.
#[derive(Debug, Clone)]
pub(super) struct TlsPolicy {
    pub(super) mode: SslMode,
    pub(super) root_cert: RootCert,
}

impl TlsPolicy {
    /// tokio-postgres's own `sslmode`: whether to ask for TLS and whether to insist.
    pub(super) fn negotiation(&self) -> tokio_postgres::config::SslMode {
        use tokio_postgres::config::SslMode as Negotiate;
        match self.mode {
            SslMode::Disable => Negotiate::Disable,
            SslMode::Prefer => Negotiate::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => Negotiate::Require,
        }
    }

    /// The connector for this policy: the trust anchors loaded and the verifier chosen.
    pub(super) fn connector(&self) -> Result<PgTls, String> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|error| format!("TLS set-up: {error}"))?;
        let verifier: Arc<dyn ServerCertVerifier> = match self.mode {
            SslMode::Disable | SslMode::Prefer | SslMode::Require => {
                Arc::new(EncryptOnly { provider })
            }
            SslMode::VerifyCa | SslMode::VerifyFull => {
                let roots = Arc::new(self.roots()?);
                let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider)
                    .build()
                    .map_err(|error| format!("TLS set-up: {error}"))?;
                if self.mode == SslMode::VerifyCa {
                    Arc::new(ChainOnly { webpki })
                } else {
                    webpki
                }
            }
        };
        let mut config = builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        // What libpq 17 sends; servers that do not know ALPN ignore it.
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        Ok(PgTls {
            config: Arc::new(config),
        })
    }

    fn roots(&self) -> Result<RootCertStore, String> {
        let mut roots = RootCertStore::empty();
        match &self.root_cert {
            RootCert::WebPki => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            RootCert::File(path) => add_pem_file(&mut roots, path)?,
        }
        Ok(roots)
    }

    /// Where the trust anchors come from, in words.
    fn anchors(&self) -> String {
        match &self.root_cert {
            RootCert::WebPki => "the public web PKI roots (give the server's CA certificate \
                                 with sslrootcert=<path>)"
                .to_owned(),
            RootCert::File(path) => {
                format!("the CA certificates in sslrootcert {}", path.display())
            }
        }
    }

    fn mode_name(&self) -> &'static str {
        match self.mode {
            SslMode::Disable => "disable",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }
}

/// Adds every certificate of the PEM file at `path`: an unreadable or empty file is a
/// configuration error naming the parameter and the path.
fn add_pem_file(roots: &mut RootCertStore, path: &Path) -> Result<(), String> {
    let pem = std::fs::read(path)
        .map_err(|error| format!("sslrootcert {} cannot be read: {error}", path.display()))?;
    let mut added = 0;
    for certificate in CertificateDer::pem_slice_iter(&pem) {
        let certificate = certificate
            .map_err(|error| format!("sslrootcert {} is not valid PEM: {error}", path.display()))?;
        roots.add(certificate).map_err(|error| {
            format!(
                "sslrootcert {} holds an unusable certificate: {error}",
                path.display()
            )
        })?;
        added += 1;
    }
    if added == 0 {
        return Err(format!(
            "sslrootcert {} holds no PEM certificate",
            path.display()
        ));
    }
    Ok(())
}

/// Why a connection could not be made, in plain words naming `DATABASE_URL`, when TLS is the
/// reason; `None` for any other failure. `host` is the host name from the URL (not secret).
pub(super) fn explain(
    error: &(dyn std::error::Error + 'static),
    policy: &TlsPolicy,
    host: &str,
) -> Option<String> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(tls) = rustls_error(error) {
            return Some(describe(tls, policy, host));
        }
        if error.to_string() == "server does not support TLS" {
            return Some(format!(
                "DATABASE_URL: the Postgres server at {host} does not offer TLS and \
                 sslmode={} requires it; enable ssl on the server or lower sslmode",
                policy.mode_name()
            ));
        }
        current = error.source();
    }
    None
}

/// A rustls error, directly or inside an `io::Error` (whose `source` skips the error it wraps).
fn rustls_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    error.downcast_ref::<rustls::Error>().or_else(|| {
        error
            .downcast_ref::<io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    })
}

fn describe(error: &rustls::Error, policy: &TlsPolicy, host: &str) -> String {
    let problem = match error {
        rustls::Error::InvalidCertificate(certificate) => match certificate {
            CertificateError::UnknownIssuer => format!(
                "the server's certificate is not signed by a trusted certificate authority \
                 (trusted: {})",
                policy.anchors()
            ),
            CertificateError::NotValidForName => format!(
                "the server's certificate is not valid for the host name {host} in the URL \
                 (connect by a name the certificate holds, or use sslmode=verify-ca)"
            ),
            CertificateError::NotValidForNameContext { presented, .. } => format!(
                "the server's certificate is not valid for the host name {host} in the URL: it \
                 holds {} (connect by one of those names, or use sslmode=verify-ca)",
                presented
                    .iter()
                    .map(|name| plain_name(name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "the server's certificate has expired".to_owned()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "the server's certificate is not valid yet (check the clocks)".to_owned()
            }
            other => format!("the server's certificate was rejected ({other:?})"),
        },
        other => format!("the TLS handshake failed ({other})"),
    };
    format!("DATABASE_URL (sslmode={}): {problem}", policy.mode_name())
}

/// `DnsName("db.example")` (how rustls lists a certificate's names) as `db.example`.
fn plain_name(presented: &str) -> &str {
    presented
        .split_once("(\"")
        .and_then(|(_, rest)| rest.strip_suffix("\")"))
        .unwrap_or(presented)
}

/// `require`/`prefer` without a root certificate: the connection is encrypted and the
/// handshake signatures are checked, but anyone's certificate is accepted (libpq's behaviour).
#[derive(Debug)]
struct EncryptOnly {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// `verify-ca`: the chain must lead to a trust anchor; the host name is not compared. webpki
/// checks the chain before the name, so a name mismatch means the chain was good.
#[derive(Debug)]
struct ChainOnly {
    webpki: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// tokio-postgres's TLS hook: one rustls configuration shared by every connection.
#[derive(Clone)]
pub(super) struct PgTls {
    config: Arc<rustls::ClientConfig>,
}

impl<S> MakeTlsConnect<S> for PgTls
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = PgTlsStream<S>;
    type TlsConnect = PgTlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, host: &str) -> Result<PgTlsConnect, io::Error> {
        let name = ServerName::try_from(host.to_owned()).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{host:?} is neither a host name nor an IP address"),
            )
        })?;
        Ok(PgTlsConnect {
            connector: tokio_rustls::TlsConnector::from(self.config.clone()),
            name,
        })
    }
}

/// One connection's handshake.
pub(super) struct PgTlsConnect {
    connector: tokio_rustls::TlsConnector,
    name: ServerName<'static>,
}

impl<S> TlsConnect<S> for PgTlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = PgTlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<PgTlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            let stream = self.connector.connect(self.name, stream).await?;
            Ok(PgTlsStream(stream))
        })
    }
}

/// An encrypted connection to Postgres.
pub(super) struct PgTlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S> tokio_postgres::tls::TlsStream for PgTlsStream<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for PgTlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for PgTlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
