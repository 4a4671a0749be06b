//! The real `alfred serve` binary on its own Postgres database, Redis key prefix and fake Graph
//! API, with JSON logs on stdout captured line by line.
//!
//! Both listeners bind port 0; the ports are read from the binary's own start-up log lines, which
//! also proves those lines are JSON.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use alfred_testkit::db::TestDb;
use alfred_testkit::graph::FakeGraph;
use alfred_testkit::redis::{test_redis_url, unique_prefix};
use alfred_testkit::whatsapp;

/// The credentials of the Alfred under test, distinctive so that the logs can be searched for
/// them.
pub const CREDENTIALS: Credentials = Credentials {
    app_secret: "telemetry-app-secret-5f1c",
    verify_token: "telemetry-verify-token-83d2",
    meta_token: "telemetry-meta-token-a9e7",
    phone_id: "109876543210",
    admin_key: "telemetry-admin-key-47b0",
};

use crate::support::{env_with, home_env, Credentials};
pub use crate::support::{eventually, DEADLINE};

/// What one Alfred talks to.
pub struct Backends {
    pub db: TestDb,
    pub prefix: String,
    pub redis_url: String,
    pub graph: FakeGraph,
}

impl Backends {
    pub async fn new() -> Backends {
        Backends {
            db: TestDb::create().await,
            prefix: unique_prefix(),
            redis_url: test_redis_url(),
            graph: FakeGraph::start().await,
        }
    }

    /// Alfred-Home's environment on these backends; `extra` adds or overrides.
    pub fn env(&self, extra: &[(&str, String)]) -> Vec<(String, String)> {
        let mut base = home_env(&CREDENTIALS, &self.db, &self.graph);
        base.extend([
            ("LOG_FORMAT", "json".to_owned()),
            ("REDIS_URL", self.redis_url.clone()),
            ("REDIS_KEY_PREFIX", self.prefix.clone()),
        ]);
        env_with(base, extra)
    }
}

/// A running `alfred serve`; killed when dropped.
pub struct Alfred {
    child: Child,
    pub base: String,
    pub admin: String,
    pub http: reqwest::Client,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
}

impl Alfred {
    /// Starts the binary with exactly `env` (plus `PATH`) and waits until both listeners are up.
    pub async fn start(env: Vec<(String, String)>) -> Alfred {
        let mut command = Command::new(env!("CARGO_BIN_EXE_alfred"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env)
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().unwrap();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let lines = stdout.clone();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                lines.lock().unwrap().push(line);
            }
        });
        let text = stderr.clone();
        let mut err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = err.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                text.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });
        let mut alfred = Alfred {
            child,
            base: String::new(),
            admin: String::new(),
            http: reqwest::Client::new(),
            stdout,
            stderr,
        };
        let (http, admin) = eventually("alfred to log both listening ports", || {
            let ports = (
                alfred.logged_port("Listening for webhooks, health and metrics."),
                alfred.logged_port("Admin API listening."),
            );
            let exited = alfred.child.try_wait().unwrap();
            assert!(
                exited.is_none(),
                "alfred exited ({exited:?}) during start-up:\n{}\n{}",
                alfred.stdout().join("\n"),
                alfred.stderr()
            );
            async move {
                match ports {
                    (Some(http), Some(admin)) => Some((http, admin)),
                    _ => None,
                }
            }
        })
        .await;
        alfred.base = format!("http://127.0.0.1:{http}");
        alfred.admin = format!("http://127.0.0.1:{admin}");
        alfred
    }

    /// Every line the process wrote to stdout so far.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// Everything the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The `port` field of the JSON log line whose message is `message`.
    fn logged_port(&self, message: &str) -> Option<u16> {
        self.stdout().iter().find_map(|line| {
            let line: serde_json::Value = serde_json::from_str(line).ok()?;
            let fields = line.get("fields")?;
            if fields.get("message")?.as_str()? != message {
                return None;
            }
            u16::try_from(fields.get("port")?.as_u64()?).ok()
        })
    }

    /// POSTs `body` to `/webhook` signed with the suite's app secret.
    pub async fn post_signed(&self, body: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/webhook", self.base))
            .header("content-type", "application/json")
            .header(
                "x-hub-signature-256",
                whatsapp::sign(CREDENTIALS.app_secret, body.as_bytes()),
            )
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
    }

    /// The `/metrics` text.
    pub async fn metrics(&self) -> String {
        self.get("/metrics").await.text().await.unwrap()
    }

    /// Asks the process to stop (SIGTERM) and waits until it has exited.
    pub async fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
        let child = &mut self.child;
        eventually("alfred to exit after SIGTERM", || {
            let exited = child.try_wait().unwrap();
            async move { exited }
        })
        .await
    }
}

impl Drop for Alfred {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of the sample of `name` whose labels include all of `labels`, from Prometheus
/// text; summed when several samples match (e.g. when `labels` leaves one out).
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut found = None;
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let (series_name, series_labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if series_name != name {
            continue;
        }
        let present: Vec<(&str, &str)> = series_labels
            .split(',')
            .filter_map(|pair| pair.split_once('='))
            .map(|(k, v)| (k, v.trim_matches('"')))
            .collect();
        if labels.iter().all(|label| present.contains(label)) {
            *found.get_or_insert(0.0) += value.parse::<f64>().unwrap();
        }
    }
    found
}
