//! Redis for tests: the shared test server's URL, a key prefix per test, and private
//! `redis-server` processes for tests that stop and restart Redis.
//!
//! Tests on the shared server never flush it: each owns the keys under its [`unique_prefix`].
//! A test that must stop Redis starts its own [`PrivateRedis`] (no persistence, a free port,
//! a temporary directory) so that other tests running in parallel are not disturbed.
//! [`PrivateRedis::start_with_aof`] starts one with `appendonly yes`, as production runs, so
//! that a restart keeps the streams (the chaos suite restarts Redis under load).

use crate::free_port;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The shared test Redis: `ALFRED_TEST_REDIS_URL`, or the local server on the standard port.
pub fn test_redis_url() -> String {
    std::env::var("ALFRED_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A key prefix no other test uses (`t-{uuid}:`).
pub fn unique_prefix() -> String {
    format!("t-{}:", uuid::Uuid::new_v4().simple())
}

/// A private `redis-server` (without persistence unless started with AOF), killed when dropped.
pub struct PrivateRedis {
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
    /// `appendonly yes`: the data survives [`PrivateRedis::start_again`].
    aof: bool,
}

impl PrivateRedis {
    /// Starts a `redis-server` on a free port and waits until it answers `PING`.
    ///
    /// Panics with what to install when `redis-server` is not on the `PATH`.
    pub fn start() -> PrivateRedis {
        PrivateRedis::start_persistent(false)
    }

    /// Like [`PrivateRedis::start`], with `appendonly yes` (fsync every second): stopping and
    /// starting it again keeps every write it acknowledged, as a production Redis does.
    pub fn start_with_aof() -> PrivateRedis {
        PrivateRedis::start_persistent(true)
    }

    fn start_persistent(aof: bool) -> PrivateRedis {
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("alfred-redis-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)
            .expect("cannot create a temporary directory for redis-server");
        let mut redis = PrivateRedis {
            port,
            dir,
            child: None,
            aof,
        };
        redis.spawn();
        redis
    }

    /// `redis://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port the server listens on (the same across [`PrivateRedis::start_again`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (SIGKILL) and waits for it to exit. Its data is lost unless it runs
    /// with AOF: what it acknowledged was written to the append-only file before the answer.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port (empty, or with its AOF data) and waits until
    /// it answers `PING` (after loading the AOF).
    pub fn start_again(&mut self) {
        self.stop();
        self.spawn();
    }

    fn spawn(&mut self) {
        let log = self.dir.join("redis.log");
        let port = self.port.to_string();
        let appendonly = if self.aof { "yes" } else { "no" };
        let args = [
            OsStr::new("--port"),
            OsStr::new(&port),
            OsStr::new("--appendonly"),
            OsStr::new(appendonly),
        ];
        let child = redis_server(&self.dir, &log, &args);
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !answers_ping(self.port) {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!("redis-server exited with {status}; see {}", log.display());
                }
            }
            assert!(
                Instant::now() < deadline,
                "redis-server did not answer PING within 10 s; see {}",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Starts a private `redis-server` without persistence, writing its log to `log`, with `args`
/// (the ports, TLS files, `--appendonly yes`) on top, later options winning; panics with an
/// install hint when there is none on the PATH.
pub(crate) fn redis_server(dir: &Path, log: &Path, args: &[&OsStr]) -> Child {
    let child = Command::new("redis-server")
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .args(["--bind", "127.0.0.1"])
        .args(args)
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match child {
        Ok(child) => child,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => panic!(
            "redis-server is not on the PATH: install Redis 6 or later (e.g. `apt-get install \
             redis-server` or `brew install redis`) to run the tests that start their own Redis"
        ),
        Err(error) => panic!("cannot start redis-server: {error}"),
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn answers_ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}
