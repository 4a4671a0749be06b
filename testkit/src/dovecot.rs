//! Private Dovecot IMAP servers for the work-inbox tests.
//!
//! Each [`PrivateDovecot`] is a real `dovecot` process in the foreground, listening on
//! `127.0.0.1` over implicit TLS (IMAPS) on a free port, with its own temporary directory: a
//! test CA and the server certificate it signed (for `127.0.0.1` and `localhost`), the
//! configuration, the log and one Maildir per user. Any user name logs in with
//! [`PrivateDovecot::PASSWORD`], so tests running in parallel never share a mailbox unless they
//! mean to. Mail is delivered by IMAP `APPEND`, as a mail client would, so the tests exercise
//! nothing but the server's ordinary IMAP behaviour.
//!
//! The server is stopped (SIGTERM to the master, which stops its children) and its directory
//! removed when the value is dropped.

use crate::free_port;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio_rustls::rustls;

/// How long a server may take to answer after it was started.
const READY_WITHIN: Duration = Duration::from_secs(20);
/// How many free ports are tried when another process takes the one picked first.
const PORT_ATTEMPTS: usize = 5;

/// A private Dovecot IMAP server on 127.0.0.1 over implicit TLS, killed (and its directory
/// removed) on drop.
pub struct PrivateDovecot {
    port: u16,
    /// The plain IMAP port, where a client must `STARTTLS` before it may log in.
    starttls_port: u16,
    dir: PathBuf,
    ca_file: PathBuf,
    child: Option<Child>,
    tls: Arc<rustls::ClientConfig>,
}

impl PrivateDovecot {
    /// The password every user has (any user name logs in; each user has its own Maildir).
    pub const PASSWORD: &'static str = "imap-test-password";

    /// Starts one on a free port and waits until it answers; panics with the install command
    /// (`apt-get install dovecot-imapd`) when `dovecot` is not found (in the `PATH` or
    /// `/usr/sbin`).
    pub fn start() -> PrivateDovecot {
        let binary = dovecot_binary().unwrap_or_else(|| {
            panic!(
                "dovecot is not installed (looked in the PATH and /usr/sbin): install it with \
                 `apt-get install dovecot-imapd` to run the work-inbox tests, which start private \
                 Dovecot IMAP servers"
            )
        });
        let unique = uuid::Uuid::new_v4().simple().to_string();
        let dir = std::env::temp_dir().join(format!("alfred-dovecot-{unique}"));
        for sub in ["run", "state"] {
            std::fs::create_dir_all(dir.join(sub))
                .expect("cannot create a temporary directory for dovecot");
        }
        // The IMAP processes run as another user (`nobody` as root) and create each user's
        // Maildir below this directory.
        let mail = dir.join("mail");
        std::fs::create_dir_all(&mail).expect("cannot create the mail directory for dovecot");
        std::fs::set_permissions(&mail, std::fs::Permissions::from_mode(0o777))
            .expect("cannot open the mail directory to the dovecot mail user");

        let ca_pem = write_certificates(&dir);
        let ca_file = dir.join("ca.pem");
        let tls = client_config(&ca_pem);

        let mut dovecot = PrivateDovecot {
            port: 0,
            starttls_port: 0,
            dir,
            ca_file,
            child: None,
            tls,
        };
        let greeting = format!("alfred-test-{unique} ready");
        for attempt in 1..=PORT_ATTEMPTS {
            dovecot.port = free_port();
            dovecot.starttls_port = free_port();
            let config = dovecot.write_config(&unique, &greeting);
            match dovecot.spawn(&binary, &config, &greeting) {
                Ok(()) => return dovecot,
                Err(Spawn::PortTaken) if attempt < PORT_ATTEMPTS => continue,
                Err(Spawn::PortTaken) => panic!(
                    "dovecot could not bind a free port in {PORT_ATTEMPTS} attempts:\n{}",
                    dovecot.log_tail()
                ),
                Err(Spawn::Failed(reason)) => {
                    panic!("{reason}:\n{}", dovecot.log_tail())
                }
            }
        }
        unreachable!("the last attempt either returns or panics")
    }

    /// The plain IMAP port on 127.0.0.1, where `STARTTLS` must come before the login
    /// (`ssl = required`).
    pub fn starttls_port(&self) -> u16 {
        self.starttls_port
    }

    /// The IMAPS port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// PEM file of the test CA that signed the server certificate (for `IMAP_CA_FILE`).
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// Delivers a message into `user`'s INBOX by IMAP `APPEND` over TLS; returns when the
    /// server has stored it.
    pub async fn append(&self, user: &str, raw: &[u8]) {
        let mut session = self.session(user).await;
        session
            .append("INBOX", None, None, raw)
            .await
            .expect("dovecot refused the APPEND");
        session.logout().await.expect("dovecot refused LOGOUT");
    }

    /// The UIDs of the messages in `user`'s INBOX that do not have the `\Seen` flag, lowest
    /// first (read in a separate read-only session, so the question changes nothing).
    pub async fn unseen_uids(&self, user: &str) -> Vec<u32> {
        let mut session = self.session(user).await;
        session
            .examine("INBOX")
            .await
            .expect("dovecot refused EXAMINE INBOX");
        let mut uids: Vec<u32> = session
            .uid_search("UNSEEN")
            .await
            .expect("dovecot refused UID SEARCH UNSEEN")
            .into_iter()
            .collect();
        uids.sort_unstable();
        session.logout().await.expect("dovecot refused LOGOUT");
        uids
    }

    /// `alfred_config::ImapSettings`-shaped environment for an Alfred process:
    /// `IMAP_HOST=127.0.0.1`, `IMAP_PORT`, `IMAP_USER=user`, `IMAP_PASSWORD`, `IMAP_CA_FILE`.
    pub fn env(&self, user: &str) -> Vec<(String, String)> {
        [
            ("IMAP_HOST", "127.0.0.1".to_owned()),
            ("IMAP_PORT", self.port.to_string()),
            ("IMAP_USER", user.to_owned()),
            ("IMAP_PASSWORD", Self::PASSWORD.to_owned()),
            ("IMAP_CA_FILE", self.ca_file.display().to_string()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect()
    }

    /// A logged-in session of `user` over TLS, trusting only the test CA.
    async fn session(
        &self,
        user: &str,
    ) -> async_imap::Session<tokio_rustls::client::TlsStream<tokio::net::TcpStream>> {
        let tcp = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, self.port))
            .await
            .expect("cannot connect to the private dovecot");
        let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(
                ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into()),
                tcp,
            )
            .await
            .expect("TLS handshake with the private dovecot failed");
        let mut client = async_imap::Client::new(tls);
        client
            .read_response()
            .await
            .expect("cannot read the dovecot greeting")
            .expect("dovecot closed the connection before its greeting");
        client
            .login(user, Self::PASSWORD)
            .await
            .map_err(|(error, _)| error)
            .expect("dovecot refused the test login")
    }

    /// Writes `dovecot.conf` for the current port and returns its path.
    fn write_config(&self, unique: &str, greeting: &str) -> PathBuf {
        let dir = self.dir.display();
        let port = self.port;
        let starttls_port = self.starttls_port;
        // As root (CI), mail belongs to `nobody` and Dovecot's own users are the packaged ones;
        // otherwise everything runs as the current user (best effort: no chroot, no setuid).
        let (userdb_ids, process_users) = match current_user() {
            Some(user) if user.uid != 0 => (
                format!("uid={} gid={}", user.uid, user.gid),
                format!(
                    "default_login_user = {name}\ndefault_internal_user = {name}\n\
                     first_valid_uid = {uid}\nfirst_valid_gid = {gid}\n",
                    name = user.name,
                    uid = user.uid,
                    gid = user.gid
                ),
            ),
            _ => ("uid=nobody gid=nogroup".to_owned(), String::new()),
        };
        let config = format!(
            "base_dir = {dir}/run
state_dir = {dir}/state
instance_name = alfred-test-{unique}
protocols = imap
listen = 127.0.0.1
login_greeting = {greeting}
ssl = required
ssl_cert = <{dir}/cert.pem
ssl_key = <{dir}/key.pem
log_path = {dir}/dovecot.log
auth_mechanisms = plain
{process_users}passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = {userdb_ids} home={dir}/mail/%u
}}
mail_location = maildir:{dir}/mail/%u/Maildir
service imap-login {{
  inet_listener imap {{
    port = {starttls_port}
  }}
  inet_listener imaps {{
    port = {port}
    ssl = yes
  }}
  chroot =
}}
service anvil {{
  chroot =
}}
",
            password = Self::PASSWORD,
        );
        let path = self.dir.join("dovecot.conf");
        std::fs::write(&path, config).expect("cannot write dovecot.conf");
        path
    }

    /// Runs `dovecot -F` and waits until it greets over TLS with `greeting` (so an answer from
    /// another test's server that took the same port does not count).
    fn spawn(&mut self, binary: &Path, config: &Path, greeting: &str) -> Result<(), Spawn> {
        let _ = std::fs::remove_file(self.log_path());
        let stderr = std::fs::File::create(self.dir.join("stderr.log"))
            .expect("cannot create a file for dovecot's standard error");
        let child = Command::new(binary)
            .arg("-F")
            .arg("-c")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            // Its own process group, so `stop` can kill the master and its children together.
            .process_group(0)
            .spawn()
            .map_err(|error| {
                Spawn::Failed(format!("cannot start {}: {error}", binary.display()))
            })?;
        self.child = Some(child);
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if greets(self.port, &self.tls, greeting) {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(if self.log_tail().contains("Address already in use") {
                        Spawn::PortTaken
                    } else {
                        Spawn::Failed(format!("dovecot exited with {status}"))
                    });
                }
            }
            if Instant::now() >= deadline {
                self.stop();
                return Err(Spawn::Failed(format!(
                    "dovecot did not greet over TLS on 127.0.0.1:{} within {READY_WITHIN:?}",
                    self.port
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the master and every process it started: they share the process group the
    /// master leads (see `spawn`), so one SIGKILL to the group leaves nothing behind. (SIGTERM
    /// to the master alone also works but takes a second while it waits for its children.)
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let group = format!("-{}", child.id());
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = child.kill();
        let _ = child.wait();
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("dovecot.log")
    }

    /// The last lines of the log and of standard error, for failure messages.
    fn log_tail(&self) -> String {
        let mut tail = String::new();
        for path in [self.log_path(), self.dir.join("stderr.log")] {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let start = lines.len().saturating_sub(30);
            tail.push_str(&format!("--- {} ---\n", path.display()));
            for line in &lines[start..] {
                tail.push_str(line);
                tail.push('\n');
            }
        }
        tail
    }
}

impl Drop for PrivateDovecot {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

enum Spawn {
    /// Another process bound the port between picking and binding it.
    PortTaken,
    Failed(String),
}

/// `dovecot` from the `PATH`, else `/usr/sbin/dovecot` (not in a non-root user's `PATH`).
fn dovecot_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join("dovecot"))
        .chain([PathBuf::from("/usr/sbin/dovecot")])
        .find(|candidate| candidate.is_file())
}

struct CurrentUser {
    name: String,
    uid: u32,
    gid: u32,
}

/// The current user from `id`, or `None` when `id` cannot say.
fn current_user() -> Option<CurrentUser> {
    let id = |flag: &str| -> Option<String> {
        let output = Command::new("id").arg(flag).output().ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    Some(CurrentUser {
        name: id("-un")?,
        uid: id("-u")?.parse().ok()?,
        gid: id("-g")?.parse().ok()?,
    })
}

/// Generates the test CA and the server certificate it signs; writes `ca.pem`, `cert.pem` and
/// `key.pem` into `dir` and returns the CA certificate's PEM.
fn write_certificates(dir: &Path) -> String {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Alfred test IMAP CA");
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key).unwrap();

    let mut server_params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .unwrap();
    server_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "localhost");
    let server_key = rcgen::KeyPair::generate().unwrap();
    let server = server_params.signed_by(&server_key, &ca).unwrap();

    let ca_pem = ca.pem();
    std::fs::write(dir.join("ca.pem"), &ca_pem).expect("cannot write ca.pem");
    std::fs::write(dir.join("cert.pem"), server.pem()).expect("cannot write cert.pem");
    std::fs::write(dir.join("key.pem"), server_key.serialize_pem()).expect("cannot write key.pem");
    ca_pem
}

/// A TLS client configuration (ring) trusting only the test CA.
fn client_config(ca_pem: &str) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(certificate.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    Arc::new(config)
}

/// Whether the server on `port` completes a TLS handshake (trusting the test CA) and sends an
/// `* OK` greeting containing `greeting`.
fn greets(port: u16, tls: &Arc<rustls::ClientConfig>, greeting: &str) -> bool {
    let Ok(tcp) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = tcp.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = tcp.set_write_timeout(Some(Duration::from_secs(2)));
    let name = ServerName::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST).into());
    let Ok(connection) = rustls::ClientConnection::new(tls.clone(), name) else {
        return false;
    };
    let mut stream = rustls::StreamOwned::new(connection, tcp);
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") && line.len() < 1024 {
        match stream.read(&mut byte) {
            Ok(1) => line.push(byte[0]),
            _ => return false,
        }
    }
    let line = String::from_utf8_lossy(&line);
    let greeted = line.starts_with("* OK") && line.contains(greeting);
    if greeted {
        let _ = stream.write_all(b"a LOGOUT\r\n");
    }
    greeted
}
