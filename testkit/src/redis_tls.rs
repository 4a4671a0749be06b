//! Private TLS-only `redis-server`s, with a test CA, for the Redis-over-TLS tests.
//!
//! Each [`TlsRedis`] is a real `redis-server` listening on `127.0.0.1` with TLS only (`--port
//! 0 --tls-port N`), no persistence, and its own temporary directory holding a test CA, the
//! server certificate it signed, a client certificate it signed (for mutual TLS), and a second,
//! unrelated CA (to show that trusting the wrong CA fails) with a client certificate of its own
//! (which the server refuses). The server is killed and its
//! directory removed on drop.

use std::ffi::OsStr;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use alfred_config::redis_tls::{ClientIdentity, PemFile, RedisTls};
use alfred_config::SecretString;

use crate::certs::TestCa;
use crate::free_port;
use crate::redis::redis_server;

/// How long a server may take to listen after it was started.
const READY_WITHIN: Duration = Duration::from_secs(10);

/// Whether the server asks clients for a certificate (`--tls-auth-clients`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// No client certificate is asked for.
    No,
    /// A client certificate is required (mutual TLS).
    Required,
}

/// A private TLS-only `redis-server` on 127.0.0.1, killed (and its directory removed) on drop.
pub struct TlsRedis {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl TlsRedis {
    /// Starts one whose certificate names `127.0.0.1` and `localhost`.
    pub fn start(auth: ClientAuth) -> TlsRedis {
        TlsRedis::start_for(auth, &["127.0.0.1", "localhost"])
    }

    /// Starts one whose certificate names only `names` (e.g. another host, for a name
    /// mismatch). Panics with what to install when `redis-server` is not on the `PATH`.
    pub fn start_for(auth: ClientAuth, names: &[&str]) -> TlsRedis {
        TlsRedis::start_with(auth, names, false)
    }

    /// Starts one whose certificate (for `127.0.0.1` and `localhost`) expired in 2021.
    pub fn start_expired() -> TlsRedis {
        TlsRedis::start_with(ClientAuth::No, &["127.0.0.1", "localhost"], true)
    }

    fn start_with(auth: ClientAuth, names: &[&str], expired: bool) -> TlsRedis {
        let dir = std::env::temp_dir().join(format!(
            "alfred-redis-tls-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("cannot create a temporary directory for redis");
        write_certificates(&dir, names, expired);
        let mut redis = TlsRedis {
            port: 0,
            dir,
            child: None,
        };
        for attempt in 1..=5 {
            redis.port = free_port();
            if redis.spawn(auth) {
                return redis;
            }
            assert!(attempt < 5, "redis-server could not bind a free port");
        }
        unreachable!("the last attempt either returns or panics")
    }

    /// `rediss://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}", self.port)
    }

    /// The PEM file of the CA that signed the server's (and the client's) certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// The PEM file of a CA that signed nothing this server knows.
    pub fn other_ca_file(&self) -> PathBuf {
        self.dir.join("other-ca.pem")
    }

    /// The client certificate the test CA signed (for mutual TLS).
    pub fn client_cert_file(&self) -> PathBuf {
        self.dir.join("client.pem")
    }

    /// The client certificate's private key.
    pub fn client_key_file(&self) -> PathBuf {
        self.dir.join("client-key.pem")
    }

    /// A client certificate signed by the unrelated CA, which the server does not trust.
    pub fn stranger_cert_file(&self) -> PathBuf {
        self.dir.join("stranger.pem")
    }

    /// The private key of [`TlsRedis::stranger_cert_file`].
    pub fn stranger_key_file(&self) -> PathBuf {
        self.dir.join("stranger-key.pem")
    }

    /// The TLS settings trusting `ca_file` (when given), with the client certificate when
    /// `client` — as `alfred_config` would load them from `REDIS_CA_FILE` and friends.
    pub fn tls(&self, ca_file: Option<&Path>, client: bool) -> RedisTls {
        let pem_file = |path: &Path| PemFile {
            path: path.to_owned(),
            pem: std::fs::read_to_string(path).expect("cannot read a test certificate"),
        };
        RedisTls {
            ca: ca_file.map(pem_file),
            client: client.then(|| ClientIdentity {
                cert: pem_file(&self.client_cert_file()),
                key_path: self.client_key_file(),
                key_pem: SecretString::from(
                    std::fs::read_to_string(self.client_key_file())
                        .expect("cannot read the test client key"),
                ),
            }),
        }
    }

    /// Starts the server; false when the port was taken.
    fn spawn(&mut self, auth: ClientAuth) -> bool {
        let log = self.dir.join("redis.log");
        let path = |name: &str| self.dir.join(name);
        let port = self.port.to_string();
        let (server, key, ca) = (path("server.pem"), path("server-key.pem"), path("ca.pem"));
        let auth = match auth {
            ClientAuth::No => "no",
            ClientAuth::Required => "yes",
        };
        let args: [&OsStr; 12] = [
            "--port".as_ref(),
            "0".as_ref(),
            "--tls-port".as_ref(),
            port.as_ref(),
            "--tls-cert-file".as_ref(),
            server.as_ref(),
            "--tls-key-file".as_ref(),
            key.as_ref(),
            "--tls-ca-cert-file".as_ref(),
            ca.as_ref(),
            "--tls-auth-clients".as_ref(),
            auth.as_ref(),
        ];
        let child = redis_server(&self.dir, &log, &args);
        self.child = Some(child);
        let deadline = Instant::now() + READY_WITHIN;
        // TLS only: listening is enough (redis binds once it is ready).
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    let text = std::fs::read_to_string(&log).unwrap_or_default();
                    self.child = None;
                    if text.contains("Address already in use") {
                        return false;
                    }
                    panic!("redis-server exited with {status}:\n{text}");
                }
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not listen within {READY_WITHIN:?}; see {}",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        true
    }
}

impl Drop for TlsRedis {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `ca.pem`, `server.pem`/`server-key.pem` for `names` (valid in 2020 only when `expired`),
/// `client.pem`/`client-key.pem`, `other-ca.pem`, and `stranger.pem`/`stranger-key.pem` (a
/// client certificate `other-ca.pem` signed).
fn write_certificates(dir: &Path, names: &[&str], expired: bool) {
    let ca = TestCa::new("Alfred test Redis CA");
    let server = ca.server(names, expired);
    let client = ca.client("alfred");
    let other = TestCa::new("Alfred test CA that signed nothing");
    let stranger = other.client("alfred");
    let write = |name: &str, content: &str| {
        std::fs::write(dir.join(name), content).expect("cannot write a test certificate")
    };
    write("ca.pem", &ca.pem());
    write("server.pem", &server.cert_pem);
    write("server-key.pem", &server.key_pem);
    write("client.pem", &client.cert_pem);
    write("client-key.pem", &client.key_pem);
    write("other-ca.pem", &other.pem());
    write("stranger.pem", &stranger.cert_pem);
    write("stranger-key.pem", &stranger.key_pem);
}
