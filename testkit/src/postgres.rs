//! Private Postgres clusters for tests that stop and restart Postgres.
//!
//! Tests on the shared server ([`crate::db`]) must never stop it, so a test that takes Postgres
//! away starts its own [`PrivatePostgres`]: a cluster made by `initdb` in a temporary directory,
//! listening on 127.0.0.1 on a free port (its Unix socket in that directory too), with trust
//! authentication for the `postgres` superuser and durability turned off for speed. Stopping and
//! starting it again keeps its port and its data, as a real outage would.
//!
//! [`PrivatePostgres::start_tls`] starts one with `ssl=on` and a server certificate from a
//! test CA (see [`ServerTls`]), for the tests of `DATABASE_URL`'s `sslmode`.
//!
//! The server tools are looked up on the `PATH`, then in Debian's `/usr/lib/postgresql/*/bin`
//! (newest version first). `initdb` and `postgres` refuse to run as root, so as root the cluster
//! is owned and run by the unprivileged `postgres` (or else `nobody`) user through `runuser`,
//! the same way `scripts/test.sh` does it.

use crate::certs::TestCa;
use crate::free_port;
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A private Postgres cluster, stopped and deleted when dropped.
pub struct PrivatePostgres {
    port: u16,
    /// The temporary directory: `data/`, `sock/` and the logs.
    dir: PathBuf,
    /// Where `initdb` and `pg_ctl` are.
    bin: PathBuf,
    /// The user the cluster runs as when the tests run as root.
    user: Option<String>,
    running: bool,
    /// `-c ssl=on …` when started with TLS.
    ssl_options: String,
}

/// How a [`PrivatePostgres`] speaks TLS: a certificate for `names` signed by a test CA.
pub struct ServerTls {
    /// The names the server certificate holds (host names or IP addresses).
    pub names: Vec<String>,
    /// A certificate that expired in 2020.
    pub expired: bool,
}

impl ServerTls {
    /// A valid certificate for `names`.
    pub fn for_names(names: &[&str]) -> ServerTls {
        ServerTls {
            names: names.iter().map(|name| (*name).to_owned()).collect(),
            expired: false,
        }
    }
}

impl PrivatePostgres {
    /// Creates a cluster with `initdb`, starts it on a free port and waits until it accepts
    /// connections.
    ///
    /// Panics with what to install when the Postgres server tools cannot be found.
    pub fn start() -> PrivatePostgres {
        PrivatePostgres::start_with(None)
    }

    /// Like [`PrivatePostgres::start`], with `ssl=on` and a server certificate as `tls` says.
    /// The CA's certificate is [`PrivatePostgres::ca_file`]; [`PrivatePostgres::other_ca_file`]
    /// is an unrelated CA. Plain connections are still accepted (tests create their databases
    /// over them).
    pub fn start_tls(tls: ServerTls) -> PrivatePostgres {
        PrivatePostgres::start_with(Some(tls))
    }

    fn start_with(tls: Option<ServerTls>) -> PrivatePostgres {
        let bin = server_tools();
        let user = unprivileged_user();
        // Root's TMPDIR may not be reachable by the unprivileged user; /tmp always is.
        let base = if user.is_some() {
            PathBuf::from("/tmp")
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!("alfred-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("sock"))
            .expect("cannot create a temporary directory for Postgres");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .expect("cannot make the Postgres directory readable");
        let ssl_options = tls
            .map(|tls| write_tls_files(&dir, &tls))
            .unwrap_or_default();
        if let Some(user) = &user {
            let status = Command::new("chown")
                .arg("-R")
                .arg(user)
                .arg(&dir)
                .status()
                .expect("cannot run chown");
            assert!(
                status.success(),
                "chown of {} to {user} failed",
                dir.display()
            );
        }
        let mut postgres = PrivatePostgres {
            port: free_port(),
            dir,
            bin,
            user,
            running: false,
            ssl_options,
        };
        postgres.initdb();
        postgres.start_again();
        postgres
    }

    /// `postgres://postgres@127.0.0.1:{port}/postgres`: the superuser, trust authentication.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// The test CA that signed the server certificate (PEM), when started with TLS.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// A CA that signed nothing here (PEM), when started with TLS.
    pub fn other_ca_file(&self) -> PathBuf {
        self.dir.join("other-ca.pem")
    }

    /// The port the server listens on (the same across [`PrivatePostgres::start_again`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (`pg_ctl stop -m fast`: sessions are terminated, as in a real
    /// shutdown) and waits until it is gone. The data stay.
    pub fn stop(&mut self) {
        if self.running {
            self.pg_ctl_stop("fast");
        }
    }

    /// Starts the server again on the same port with the same data, and waits until it accepts
    /// connections. Does nothing when it is running.
    pub fn start_again(&mut self) {
        if self.running {
            return;
        }
        let log = self.dir.join("postgres.log");
        // Durability is pointless for a throw-away cluster; speed is not.
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=100 \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off{}",
            self.port,
            self.dir.join("sock").display(),
            self.ssl_options
        );
        let output = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "start", "-o", &options])
            .output()
            .expect("cannot run pg_ctl");
        assert!(
            output.status.success(),
            "pg_ctl start failed ({}): {}; see {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim(),
            log.display()
        );
        self.running = true;
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "Postgres does not listen on port {}; see {}",
                self.port,
                log.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn initdb(&self) {
        let log = self.dir.join("initdb.log");
        let output = self
            .command("initdb")
            .arg("-D")
            .arg(self.data())
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C"])
            .arg("--no-sync")
            .output()
            .expect("cannot run initdb");
        let _ = std::fs::write(&log, [&output.stdout[..], &output.stderr[..]].concat());
        assert!(
            output.status.success(),
            "initdb failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn pg_ctl_stop(&mut self, mode: &str) {
        let _ = self
            .command("pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", mode, "-w", "-t", "60", "stop"])
            .output();
        self.running = false;
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// One of the server tools, run as the cluster's user, in the cluster's directory (the
    /// user may not be allowed into the current one).
    fn command(&self, tool: &str) -> Command {
        let program = self.bin.join(tool);
        let mut command = match &self.user {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(program);
                command
            }
            None => Command::new(program),
        };
        command
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        command
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        if self.running {
            self.pg_ctl_stop("immediate");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Writes the CA, the server certificate and key (mode 0600, as Postgres demands) and an
/// unrelated CA into `dir`; returns the server options that turn TLS on.
fn write_tls_files(dir: &std::path::Path, tls: &ServerTls) -> String {
    let ca = TestCa::new("Alfred test Postgres CA");
    let names: Vec<&str> = tls.names.iter().map(String::as_str).collect();
    let server = ca.server(&names, tls.expired);
    ca.write(&dir.join("ca.pem"));
    TestCa::new("Alfred test unrelated CA").write(&dir.join("other-ca.pem"));
    let cert = dir.join("server.crt");
    let key = dir.join("server.key");
    std::fs::write(&cert, &server.cert_pem).expect("cannot write server.crt");
    std::fs::write(&key, &server.key_pem).expect("cannot write server.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))
        .expect("cannot restrict server.key");
    format!(
        " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
        cert.display(),
        key.display()
    )
}

/// The directory holding `initdb` and `pg_ctl`: on the `PATH`, else the newest
/// `/usr/lib/postgresql/*/bin`.
fn server_tools() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut debian: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|entry| {
                    let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
                    Some((version, entry.path().join("bin")))
                })
                .collect()
        })
        .unwrap_or_default();
    debian.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
    on_path
        .into_iter()
        .chain(debian.into_iter().map(|(_, bin)| bin))
        .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
        .unwrap_or_else(|| {
            panic!(
                "the Postgres server tools (initdb, pg_ctl) are neither on the PATH nor in \
                 /usr/lib/postgresql/*/bin: install the PostgreSQL server (e.g. `apt-get install \
                 postgresql` or `brew install postgresql`) to run the tests that stop Postgres"
            )
        })
}

/// `None` unless running as root; then `postgres`, or else `nobody`.
pub(crate) fn unprivileged_user() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return None;
    }
    let user = ["postgres", "nobody"].into_iter().find(|user| {
        Command::new("id")
            .arg("-u")
            .arg(user)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    });
    Some(
        user.unwrap_or_else(|| {
            panic!(
                "running as root, and there is no `postgres` or `nobody` user to run Postgres as"
            )
        })
        .to_owned(),
    )
}
