//! Private PgBouncers in transaction mode, for the tests that run Alfred through a pooler.
//!
//! [`PrivatePgBouncer::start`] writes a configuration in a temporary directory and runs
//! `pgbouncer` on a free loopback port in front of an upstream Postgres (any database name is
//! passed through), with `pool_mode = transaction` and a small server pool, so that
//! consecutive transactions of one client land on different server connections — what breaks
//! a client that relies on session state or on statements prepared by name. PgBouncer before
//! 1.21 (Debian 12 has 1.18) does not track protocol-level prepared statements at all, nor do
//! later ones with `max_prepared_statements = 0`: the case `DATABASE_STATEMENT_CACHE=off` is for.
//!
//! PgBouncer refuses to run as root: as root it runs as the unprivileged user the private
//! Postgres uses. Its binary is looked up on the `PATH`, then in `/usr/sbin` (Debian).

use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;
use crate::postgres::unprivileged_user;

/// A PgBouncer in transaction mode, stopped and deleted when dropped.
pub struct PrivatePgBouncer {
    port: u16,
    dir: PathBuf,
    child: Child,
}

impl PrivatePgBouncer {
    /// Starts a PgBouncer in front of the Postgres at `upstream_url` (its host, port, user and
    /// password are used; trust authentication towards the clients), and waits until it
    /// listens. Panics with what to install when `pgbouncer` cannot be found.
    pub fn start(upstream_url: &str) -> PrivatePgBouncer {
        let binary = pgbouncer_binary();
        let upstream: tokio_postgres::Config =
            upstream_url.parse().expect("the upstream URL is valid");
        let host = upstream
            .get_hosts()
            .iter()
            .find_map(|host| match host {
                tokio_postgres::config::Host::Tcp(host) => Some(host.clone()),
                #[allow(unreachable_patterns)]
                _ => None,
            })
            .unwrap_or_else(|| "127.0.0.1".to_owned());
        let upstream_port = upstream.get_ports().first().copied().unwrap_or(5432);
        let user = upstream.get_user().unwrap_or("postgres").to_owned();
        let password = upstream
            .get_password()
            .map(|password| {
                format!(
                    " password={}",
                    String::from_utf8_lossy(password).replace('\'', "")
                )
            })
            .unwrap_or_default();

        let run_as = unprivileged_user();
        let base = if run_as.is_some() {
            PathBuf::from("/tmp")
        } else {
            std::env::temp_dir()
        };
        let dir = base.join(format!(
            "alfred-pgbouncer-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&dir).expect("cannot create a directory for PgBouncer");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .expect("cannot make the PgBouncer directory readable");
        let port = free_port();
        let config = dir.join("pgbouncer.ini");
        std::fs::write(dir.join("userlist.txt"), format!("\"{user}\" \"\"\n"))
            .expect("cannot write userlist.txt");
        std::fs::write(
            &config,
            format!(
                "[databases]\n\
                 * = host={host} port={upstream_port} user={user}{password}\n\
                 [pgbouncer]\n\
                 listen_addr = 127.0.0.1\n\
                 listen_port = {port}\n\
                 unix_socket_dir =\n\
                 auth_type = trust\n\
                 auth_file = {dir}/userlist.txt\n\
                 pool_mode = transaction\n\
                 default_pool_size = 3\n\
                 max_client_conn = 500\n\
                 server_reset_query =\n\
                 ignore_startup_parameters = extra_float_digits,options\n\
                 logfile = {dir}/pgbouncer.log\n\
                 pidfile = {dir}/pgbouncer.pid\n",
                dir = dir.display()
            ),
        )
        .expect("cannot write pgbouncer.ini");
        let user = match run_as {
            Some(run_as) => {
                let status = Command::new("chown")
                    .arg("-R")
                    .arg(&run_as)
                    .arg(&dir)
                    .status()
                    .expect("cannot run chown");
                assert!(status.success(), "chown of {} failed", dir.display());
                run_as
            }
            None => String::new(),
        };
        let mut command = if user.is_empty() {
            Command::new(&binary)
        } else {
            let mut command = Command::new("runuser");
            command.args(["-u", &user, "--"]).arg(&binary);
            command
        };
        let child = command
            .arg(&config)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start pgbouncer");
        let mut bouncer = PrivatePgBouncer { port, dir, child };
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = bouncer.child.try_wait() {
                panic!("pgbouncer exited ({status}): {}", bouncer.log_tail());
            }
            assert!(
                Instant::now() < deadline,
                "pgbouncer does not listen on port {port}: {}",
                bouncer.log_tail()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        bouncer
    }

    /// `postgres://{user}@127.0.0.1:{port}/{database}`: `database` through this pooler.
    pub fn url(&self, user: &str, database: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{database}", self.port)
    }

    /// The port PgBouncer listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for PrivatePgBouncer {
    fn drop(&mut self) {
        // Through runuser the child is runuser itself; pgbouncer exits with its parent's
        // SIGKILL only if we signal the whole process, so signal the pid in the pidfile too.
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("pgbouncer.pid")) {
            let _ = Command::new("kill").arg("-9").arg(pid.trim()).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `pgbouncer` on the `PATH`, else `/usr/sbin/pgbouncer`.
fn pgbouncer_binary() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("pgbouncer"))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!(
                "pgbouncer is neither on the PATH nor in /usr/sbin: install it (e.g. \
                 `apt-get install pgbouncer` or `brew install pgbouncer`) to run the pooler tests"
            )
        })
}
