//! The work inbox over IMAP: one short, read-only session per poll.
//!
//! Each [`ImapClient::fetch_new`] connects over implicit TLS (port 993), or over a plain
//! connection upgraded with `STARTTLS` before anything else (`IMAP_TLS=starttls`, port 143; a
//! server that refuses the upgrade gets no password), logs in, `EXAMINE`s the mailbox (read-only:
//! we never change a flag), asks for the UIDs above the caller's [`Cursor`], fetches at most
//! `limit` of them with `BODY.PEEK[]<0.MAX_MAIL_BYTES>` (which leaves `\Seen` alone) and logs
//! out. The whole poll is bounded by `IMAP_TIMEOUT_MS`.
//!
//! Only the first [`MAX_MAIL_BYTES`] of each mail are fetched: the headers and the text that a
//! triage reads come first, and a mail with a 20 MB attachment must not cost 20 MB a poll (a
//! hundred of them would exhaust memory). The rest stays on the server.
//!
//! UIDs only mean something together with the mailbox's `UIDVALIDITY`: when the server reports
//! another value than the cursor's (the mailbox was recreated or renumbered), the old cursor is
//! worthless and the poll starts again from the first mail. The caller stores the cursor under
//! [`ImapClient::account`] and de-duplicates mails it has already seen.
//!
//! IMAP detail worth knowing: a UID range `n:*` always includes the highest UID in the mailbox,
//! even when that is below `n`, so results are filtered against the cursor.
//!
//! The password is only ever handed to the LOGIN command: it is not in [`ImapError`] texts, logs
//! or the client's `Debug` output.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use alfred_config::{ImapSettings, ImapTls};
use async_imap::error::Error as ProtocolError;
use async_imap::imap_proto::{Response, Status};
use futures::TryStreamExt;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use secrecy::{ExposeSecret, SecretString};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// The most bytes fetched of one mail (its start: headers and the first parts).
pub const MAX_MAIL_BYTES: usize = 256 * 1024;

/// A logged-in session over TLS.
type Session = async_imap::Session<TlsStream<TcpStream>>;

/// Where the previous poll stopped in one mailbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The mailbox's `UIDVALIDITY` when `last_uid` was read; UIDs under another value are
    /// unrelated.
    pub uid_validity: u32,
    /// The highest UID already handed to the caller.
    pub last_uid: u32,
}

/// One message as the server stores it.
#[derive(Debug, Clone)]
pub struct FetchedMail {
    /// The message's UID in the mailbox (under [`Fetched::uid_validity`]).
    pub uid: u32,
    /// The whole message (`BODY[]`): headers and body, as the server sends it (CRLF lines).
    pub raw: Vec<u8>,
}

/// What one poll found.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The mailbox's current `UIDVALIDITY`, for the next [`Cursor`].
    pub uid_validity: u32,
    /// The new mails, lowest UIDs first.
    pub mails: Vec<FetchedMail>,
    /// True when more than `limit` new mails were waiting: poll again soon.
    pub more: bool,
}

/// Why a poll failed. No variant ever carries the password.
#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    /// The TCP connection failed or broke (`host:port` and the I/O error).
    #[error("cannot reach the IMAP server {0}")]
    Connect(String),
    /// The TLS handshake failed: e.g. the certificate is not trusted or names another host.
    #[error("TLS with the IMAP server failed: {0}")]
    Tls(String),
    /// The server refused the login of this user name.
    #[error("the IMAP server refused the login of {0}")]
    Auth(String),
    /// The server would not open this mailbox (it does not exist or is not readable).
    #[error("cannot open mailbox {0}")]
    Mailbox(String),
    /// The server's answer did not follow the protocol or refused a routine command.
    #[error("the IMAP server answered unexpectedly: {0}")]
    Protocol(String),
    /// The whole poll took longer than `IMAP_TIMEOUT_MS`.
    #[error("the IMAP poll took longer than {0:?}")]
    TimedOut(Duration),
    /// The settings cannot work: e.g. an unreadable or invalid `IMAP_CA_FILE`.
    #[error("IMAP configuration: {0}")]
    Config(String),
}

impl ImapError {
    /// Whether trying again later may succeed: a network failure, a server hiccup or a
    /// time-out. A refused login, a missing mailbox, an untrusted certificate or bad settings
    /// stay so until someone changes something.
    pub fn is_transient(&self) -> bool {
        match self {
            ImapError::Connect(_) | ImapError::Protocol(_) | ImapError::TimedOut(_) => true,
            ImapError::Tls(_)
            | ImapError::Auth(_)
            | ImapError::Mailbox(_)
            | ImapError::Config(_) => false,
        }
    }
}

/// A client for one mailbox. `Debug` does not print the password.
pub struct ImapClient {
    host: String,
    port: u16,
    tls_mode: ImapTls,
    user: String,
    password: SecretString,
    mailbox: String,
    timeout: Duration,
    server_name: ServerName<'static>,
    tls: TlsConnector,
}

impl fmt::Debug for ImapClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapClient")
            .field("account", &self.account())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ImapClient {
    /// Builds the TLS configuration: the public web roots (webpki-roots) plus every certificate
    /// in `IMAP_CA_FILE` (PEM) when set.
    pub fn new(settings: &ImapSettings) -> Result<ImapClient, ImapError> {
        let server_name = ServerName::try_from(settings.host.clone()).map_err(|_| {
            ImapError::Config(format!(
                "IMAP_HOST {:?} is neither a host name nor an IP address",
                settings.host
            ))
        })?;
        // async-imap sends LOGIN and EXAMINE arguments as quoted strings, which cannot hold a
        // line break: say so now rather than at every poll.
        for (name, value) in [
            ("IMAP_USER", settings.user.as_str()),
            ("IMAP_PASSWORD", settings.password.expose_secret()),
            ("IMAP_MAILBOX", settings.mailbox.as_str()),
        ] {
            if value.contains(['\r', '\n']) {
                return Err(ImapError::Config(format!(
                    "{name} holds a line break, which IMAP cannot send"
                )));
            }
        }

        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if let Some(path) = &settings.ca_file {
            add_ca_file(&mut roots, path)?;
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|error| ImapError::Config(format!("TLS set-up: {error}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();

        Ok(ImapClient {
            host: settings.host.clone(),
            port: settings.port,
            tls_mode: settings.tls,
            user: settings.user.clone(),
            password: settings.password.clone(),
            mailbox: settings.mailbox.clone(),
            timeout: settings.timeout,
            server_name,
            tls: TlsConnector::from(Arc::new(config)),
        })
    }

    /// `"user@host:port/mailbox"` — the key under which the caller stores the cursor.
    pub fn account(&self) -> String {
        format!("{}@{}:{}/{}", self.user, self.host, self.port, self.mailbox)
    }

    /// Connects over TLS (implicit or `STARTTLS`), logs in, `EXAMINE`s the mailbox (read-only) and fetches the
    /// mails with a UID above `cursor.last_uid` — all mails from the first when `cursor` is
    /// `None` or its `uid_validity` differs from the server's — at most `limit` of them, lowest
    /// UIDs first, with `BODY.PEEK[]` so `\Seen` is untouched; then logs out. The whole poll is
    /// bounded by the settings' time-out.
    pub async fn fetch_new(
        &self,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Fetched, ImapError> {
        let result = self.poll(cursor, limit).await;
        match &result {
            Ok(fetched) => tracing::debug!(
                account = %self.account(),
                uid_validity = fetched.uid_validity,
                fetched = fetched.mails.len(),
                more = fetched.more,
                "Polled the IMAP mailbox."
            ),
            Err(error) => tracing::debug!(
                account = %self.account(),
                %error,
                "Polling the IMAP mailbox failed."
            ),
        }
        result
    }

    /// One session: log in, read, log out. LOGOUT is best effort within what is left of the
    /// time-out: the mails are read by then, so a server slow to say goodbye costs nothing.
    async fn poll(&self, cursor: Option<Cursor>, limit: usize) -> Result<Fetched, ImapError> {
        let deadline = Instant::now() + self.timeout;
        let timed_out = |_| ImapError::TimedOut(self.timeout);
        let mut session = tokio::time::timeout_at(deadline, self.log_in())
            .await
            .map_err(timed_out)??;
        let fetched = tokio::time::timeout_at(deadline, self.read(&mut session, cursor, limit))
            .await
            .map_err(timed_out)??;
        match tokio::time::timeout_at(deadline, session.logout()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::debug!(
                account = %self.account(),
                %error,
                "IMAP LOGOUT failed after the mails were read."
            ),
            Err(_) => tracing::debug!(
                account = %self.account(),
                "IMAP LOGOUT timed out after the mails were read."
            ),
        }
        Ok(fetched)
    }

    /// TCP, TLS (implicit, or `STARTTLS` after the plain greeting), greeting, LOGIN.
    async fn log_in(&self) -> Result<Session, ImapError> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|error| ImapError::Connect(format!("{} ({error})", self.address())))?;
        let client = match self.tls_mode {
            ImapTls::Implicit => {
                let tls = self.handshake(tcp).await?;
                let mut client = async_imap::Client::new(tls);
                self.greeted(&mut client).await?;
                client
            }
            ImapTls::StartTls => {
                let mut plain = async_imap::Client::new(tcp);
                self.greeted(&mut plain).await?;
                // A server that refuses the upgrade gets no password: never a plain-text login.
                plain
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .map_err(|error| {
                        ImapError::Tls(format!(
                            "{} refused STARTTLS: {}",
                            self.address(),
                            self.session_error(error)
                        ))
                    })?;
                // No greeting after STARTTLS.
                async_imap::Client::new(self.handshake(plain.into_inner()).await?)
            }
        };

        client
            .login(&self.user, self.password.expose_secret())
            .await
            .map_err(|(error, _client)| match error {
                // The server's text is not repeated: only the user name is certain to be safe.
                ProtocolError::No(_) | ProtocolError::Bad(_) => ImapError::Auth(self.user.clone()),
                ProtocolError::Validate(_) => ImapError::Config(
                    "IMAP_USER or IMAP_PASSWORD holds a character IMAP LOGIN cannot send"
                        .to_owned(),
                ),
                other => self.session_error(other),
            })
    }

    /// The TLS handshake on `tcp`, checking the certificate against `IMAP_HOST`.
    async fn handshake(&self, tcp: TcpStream) -> Result<TlsStream<TcpStream>, ImapError> {
        self.tls
            .connect(self.server_name.clone(), tcp)
            .await
            .map_err(|error| self.handshake_error(error))
    }

    /// Reads the server's greeting: an `OK`, or an error saying what came instead.
    async fn greeted<S>(&self, client: &mut async_imap::Client<S>) -> Result<(), ImapError>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + fmt::Debug + Send,
    {
        let greeting = client
            .read_response()
            .await
            .map_err(|error| self.session_error(error.into()))?
            .ok_or_else(|| {
                ImapError::Connect(format!(
                    "{} (closed the connection before its greeting)",
                    self.address()
                ))
            })?;
        match greeting.parsed() {
            Response::Data {
                status: Status::Ok, ..
            } => Ok(()),
            Response::Data {
                status: Status::Bye,
                information,
                ..
            } => Err(ImapError::Connect(format!(
                "{} (said BYE in its greeting: {})",
                self.address(),
                information.as_deref().unwrap_or("")
            ))),
            other => Err(ImapError::Protocol(format!(
                "expected an OK greeting, got {other:?}"
            ))),
        }
    }

    /// EXAMINE, UID SEARCH, UID FETCH.
    async fn read(
        &self,
        session: &mut Session,
        cursor: Option<Cursor>,
        limit: usize,
    ) -> Result<Fetched, ImapError> {
        let mailbox = session
            .examine(&self.mailbox)
            .await
            .map_err(|error| match error {
                ProtocolError::No(_) | ProtocolError::Bad(_) | ProtocolError::Validate(_) => {
                    ImapError::Mailbox(self.mailbox.clone())
                }
                other => self.session_error(other),
            })?;
        let uid_validity = mailbox.uid_validity.ok_or_else(|| {
            ImapError::Protocol(format!("EXAMINE {} reported no UIDVALIDITY", self.mailbox))
        })?;
        let after = match cursor {
            Some(cursor) if cursor.uid_validity == uid_validity => cursor.last_uid,
            _ => 0,
        };
        let nothing = Fetched {
            uid_validity,
            mails: Vec::new(),
            more: false,
        };
        if mailbox.exists == 0 || after == u32::MAX {
            return Ok(nothing);
        }

        let mut new: Vec<u32> = session
            .uid_search(format!("UID {}:*", after + 1))
            .await
            .map_err(|error| self.session_error(error))?
            .into_iter()
            // `n:*` always matches the highest UID, even below `n`.
            .filter(|uid| *uid > after)
            .collect();
        new.sort_unstable();
        let more = new.len() > limit;
        new.truncate(limit);
        if new.is_empty() {
            return Ok(Fetched { more, ..nothing });
        }

        let fetches: Vec<_> = session
            .uid_fetch(
                uid_set(&new),
                format!("(UID BODY.PEEK[]<0.{MAX_MAIL_BYTES}>)"),
            )
            .await
            .map_err(|error| self.session_error(error))?
            .try_collect()
            .await
            .map_err(|error| self.session_error(error))?;
        // Only the UIDs asked for: the server may add unsolicited FETCH responses (flag changes
        // by another client). A mail expunged between SEARCH and FETCH is simply gone.
        let mut bodies: BTreeMap<u32, Vec<u8>> = BTreeMap::new();
        for fetch in &fetches {
            let Some(uid) = fetch.uid.filter(|uid| new.binary_search(uid).is_ok()) else {
                continue;
            };
            match fetch.body() {
                Some(body) => {
                    bodies.insert(uid, body.to_vec());
                }
                None => {
                    bodies.entry(uid).or_default();
                }
            }
        }
        Ok(Fetched {
            uid_validity,
            mails: bodies
                .into_iter()
                .map(|(uid, raw)| FetchedMail { uid, raw })
                .collect(),
            more,
        })
    }

    fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// A rustls verdict (untrusted certificate, wrong name, no common protocol) is a TLS
    /// problem that waits for someone to fix it; a connection that broke during the handshake
    /// is a network problem worth retrying.
    fn handshake_error(&self, error: std::io::Error) -> ImapError {
        match error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            Some(tls) => ImapError::Tls(format!("{} ({tls})", self.address())),
            None => ImapError::Connect(format!(
                "{} (during the TLS handshake: {error})",
                self.address()
            )),
        }
    }

    /// An error in the middle of a session.
    fn session_error(&self, error: ProtocolError) -> ImapError {
        match error {
            ProtocolError::Io(error) => ImapError::Connect(format!("{} ({error})", self.address())),
            ProtocolError::ConnectionLost => ImapError::Connect(format!(
                "{} (the server closed the connection)",
                self.address()
            )),
            other => ImapError::Protocol(other.to_string()),
        }
    }
}

/// Adds every certificate of the PEM file at `path` to `roots`.
fn add_ca_file(roots: &mut rustls::RootCertStore, path: &std::path::Path) -> Result<(), ImapError> {
    let pem = std::fs::read(path).map_err(|error| {
        ImapError::Config(format!(
            "cannot read IMAP_CA_FILE {}: {error}",
            path.display()
        ))
    })?;
    let mut added = 0;
    for certificate in CertificateDer::pem_slice_iter(&pem) {
        let certificate = certificate.map_err(|error| {
            ImapError::Config(format!(
                "IMAP_CA_FILE {} is not valid PEM: {error}",
                path.display()
            ))
        })?;
        roots.add(certificate).map_err(|error| {
            ImapError::Config(format!(
                "IMAP_CA_FILE {} holds an unusable certificate: {error}",
                path.display()
            ))
        })?;
        added += 1;
    }
    if added == 0 {
        return Err(ImapError::Config(format!(
            "IMAP_CA_FILE {} holds no PEM certificate",
            path.display()
        )));
    }
    Ok(())
}

/// `uids` (sorted, distinct) as an IMAP sequence set, runs folded: `1:3,7,9:10`.
fn uid_set(uids: &[u32]) -> String {
    let mut set = String::new();
    let mut index = 0;
    while index < uids.len() {
        let start = uids[index];
        let mut end = start;
        while index + 1 < uids.len() && uids[index + 1] == end.saturating_add(1) {
            index += 1;
            end = uids[index];
        }
        if !set.is_empty() {
            set.push(',');
        }
        if start == end {
            set.push_str(&start.to_string());
        } else {
            set.push_str(&format!("{start}:{end}"));
        }
        index += 1;
    }
    set
}

#[cfg(test)]
mod tests {
    use super::uid_set;

    #[test]
    fn uid_sets_fold_runs() {
        assert_eq!(uid_set(&[1]), "1");
        assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[4, 6, 8]), "4,6,8");
    }
}
