//! Shared helpers: an Alfred per test — in-process on port 0, or the real binary — with its
//! own Postgres database, its own Redis key prefix and its own fake Graph API.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod partitioned;

use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Once;
use std::time::Duration;

use alfred::app::App;
use alfred::runtime::Extras;
use alfred_actors::clock::ManualClock;
use alfred_actors::skill::SkillEntry;
use alfred_config::Settings;
use alfred_testkit::db::TestDb;
use alfred_testkit::graph::FakeGraph;
use alfred_testkit::redis::{test_redis_url, unique_prefix};
use alfred_testkit::whatsapp;

/// The credentials of every Alfred in this suite.
pub const CREDENTIALS: Credentials = Credentials {
    app_secret: "test-app-secret",
    verify_token: "test-verify-token",
    meta_token: "test-meta-token",
    phone_id: "109876543210",
    admin_key: "test-admin-key-0123",
};
pub const APP_SECRET: &str = CREDENTIALS.app_secret;
pub const VERIFY_TOKEN: &str = CREDENTIALS.verify_token;
pub const META_TOKEN: &str = CREDENTIALS.meta_token;
pub const PHONE_ID: &str = CREDENTIALS.phone_id;
pub const ADMIN_KEY: &str = CREDENTIALS.admin_key;

use crate::support::{env_with, home_env, Credentials};
pub use crate::support::{eventually, DEADLINE};
pub use partitioned::*;

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_default_env()
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
            )
            .with_test_writer()
            .try_init();
    });
}

/// Everything a test's Alfred talks to.
pub struct Backends {
    pub db: TestDb,
    pub prefix: String,
    pub redis_url: String,
    pub graph: FakeGraph,
    /// The instance of the Alfred on these backends (`home` unless a test starts a Biz one):
    /// its streams and groups carry it (`{prefix}home:alfred-ingest`).
    pub instance: &'static str,
}

impl Backends {
    pub async fn new() -> Backends {
        init_logs();
        Backends {
            db: TestDb::create().await,
            prefix: unique_prefix(),
            redis_url: test_redis_url(),
            graph: FakeGraph::start().await,
            instance: "home",
        }
    }

    /// Backends whose database lives on another Postgres server (`admin_url`, a superuser
    /// URL), e.g. a private one the test stops.
    pub async fn on_postgres(admin_url: &str) -> Backends {
        init_logs();
        Backends {
            db: TestDb::create_on(admin_url).await,
            prefix: unique_prefix(),
            redis_url: test_redis_url(),
            graph: FakeGraph::start().await,
            instance: "home",
        }
    }

    /// The environment of an Alfred on these backends; `extra` overrides.
    pub fn env(&self, extra: &[(&str, String)]) -> Vec<(String, String)> {
        let mut base = home_env(&CREDENTIALS, &self.db, &self.graph);
        base.extend([
            // Short enough that a failed entry is delivered again within a test's deadline.
            ("INGEST_CLAIM_IDLE_MS", "400".to_owned()),
            ("INGEST_MAX_DELIVERIES", "3".to_owned()),
            // Partitions are on by default: a killed Alfred's partitions move to the one that
            // restarts within a test's deadline.
            // Long enough that a box loaded by the whole suite does not starve a renewal.
            ("INGEST_LEASE_MS", "3000".to_owned()),
            ("RELAY_INTERVAL_MS", "200".to_owned()),
            // A reply whose sender died mid-send is sent again after this, unless the fake
            // Graph API's status callback proved it was delivered: longer than a partition
            // move, since the callback waits on the killed Alfred's partition until it moves.
            ("OUTBOUND_CLAIM_LEASE_MS", "8000".to_owned()),
            ("REDIS_URL", self.redis_url.clone()),
            ("REDIS_KEY_PREFIX", self.prefix.clone()),
            ("LOG_FORMAT", "pretty".to_owned()),
        ]);
        env_with(base, extra)
    }

    /// The Redis key of one of this test's streams, e.g. `alfred-ingest`.
    pub fn stream_key(&self, name: &str) -> String {
        let prefix = alfred_actors::names::instance_prefix(&self.prefix, self.instance);
        alfred_actors::names::key(&prefix, name)
    }

    /// The name of one of this test's consumer groups, e.g. `alfred-orchestrators`.
    pub fn group_name(&self, name: &str) -> String {
        alfred_actors::names::group(self.instance, name)
    }

    pub fn settings(&self, extra: &[(&str, String)]) -> Settings {
        Settings::from_vars(self.env(extra)).expect("test settings are valid")
    }

    /// Shopping-list item names of a household, straight from Postgres.
    pub async fn grocery_items(&self) -> Vec<String> {
        let client = self.pg().await;
        let rows = client
            .query("SELECT name FROM grocery_items ORDER BY name", &[])
            .await
            .unwrap();
        rows.iter().map(|row| row.get::<_, String>(0)).collect()
    }

    /// Number of entries ever added to one of this test's streams (Redis's `entries-added`;
    /// 0 for a missing stream). Not `XLEN`: the janitor trims handled entries at any time.
    pub async fn stream_len(&self, name: &str) -> u64 {
        let mut conn = self.redis().await;
        let info: Result<Vec<deadpool_redis::redis::Value>, _> =
            deadpool_redis::redis::cmd("XINFO")
                .arg("STREAM")
                .arg(self.stream_key(name))
                .query_async(&mut conn)
                .await;
        let Ok(info) = info else {
            return 0; // no such key
        };
        let mut fields = info.chunks(2);
        fields
            .find_map(|pair| match pair {
                [deadpool_redis::redis::Value::BulkString(key), deadpool_redis::redis::Value::Int(n)]
                    if key.as_slice() == b"entries-added" =>
                {
                    u64::try_from(*n).ok()
                }
                _ => None,
            })
            .expect("Redis 7 reports entries-added")
    }

    /// The `payload`/`error` fields of a stream's entries.
    pub async fn stream_entries(&self, name: &str) -> Vec<Vec<(String, String)>> {
        let entries = self.xrange(name).await;
        entries.into_iter().map(|(_, fields)| fields).collect()
    }

    /// `XRANGE - +` of one of this test's streams: each entry's id and fields.
    async fn xrange(&self, name: &str) -> Vec<(String, Vec<(String, String)>)> {
        let mut conn = self.redis().await;
        deadpool_redis::redis::cmd("XRANGE")
            .arg(self.stream_key(name))
            .arg("-")
            .arg("+")
            .query_async(&mut conn)
            .await
            .unwrap()
    }

    /// Appends `payload` to one of this test's streams as entry `id` (`*` for a new one).
    pub async fn xadd(&self, name: &str, id: &str, payload: &str) -> String {
        let mut conn = self.redis().await;
        deadpool_redis::redis::cmd("XADD")
            .arg(self.stream_key(name))
            .arg(id)
            .arg("payload")
            .arg(payload)
            .query_async(&mut conn)
            .await
            .unwrap()
    }

    /// `(id, payload)` of a stream's entries, oldest first.
    pub async fn stream_entries_with_ids(&self, name: &str) -> Vec<(String, String)> {
        let entries = self.xrange(name).await;
        entries
            .into_iter()
            .map(|(id, fields)| {
                let payload = fields.into_iter().find(|(k, _)| k == "payload");
                (id, payload.map(|(_, v)| v).unwrap_or_default())
            })
            .collect()
    }

    pub async fn pg(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(self.db.url(), tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
    }

    /// A connection to the test's Redis, or to its Redis Cluster when `redis_url` lists nodes.
    pub async fn redis(&self) -> TestRedis {
        match alfred_actors::bus::redis::cluster_nodes(&self.redis_url) {
            Some(nodes) => {
                let client = deadpool_redis::redis::cluster::ClusterClient::new(nodes).unwrap();
                TestRedis::Cluster(client.get_async_connection().await.unwrap())
            }
            None => {
                let client = deadpool_redis::redis::Client::open(self.redis_url.as_str()).unwrap();
                TestRedis::Single(client.get_multiplexed_async_connection().await.unwrap())
            }
        }
    }
}

/// A test's own connection to a single Redis or a Redis Cluster.
pub enum TestRedis {
    Single(deadpool_redis::redis::aio::MultiplexedConnection),
    Cluster(deadpool_redis::redis::cluster_async::ClusterConnection),
}

impl deadpool_redis::redis::aio::ConnectionLike for TestRedis {
    fn req_packed_command<'a>(
        &'a mut self,
        cmd: &'a deadpool_redis::redis::Cmd,
    ) -> deadpool_redis::redis::RedisFuture<'a, deadpool_redis::redis::Value> {
        match self {
            TestRedis::Single(conn) => conn.req_packed_command(cmd),
            TestRedis::Cluster(conn) => conn.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a deadpool_redis::redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> deadpool_redis::redis::RedisFuture<'a, Vec<deadpool_redis::redis::Value>> {
        match self {
            TestRedis::Single(conn) => conn.req_packed_commands(cmd, offset, count),
            TestRedis::Cluster(conn) => conn.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            TestRedis::Single(conn) => conn.get_db(),
            TestRedis::Cluster(conn) => conn.get_db(),
        }
    }
}

/// An Alfred running in this process.
pub struct TestApp {
    pub backends: Backends,
    pub base: String,
    pub admin: String,
    pub http: reqwest::Client,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(&[], Vec::new()).await
    }

    pub async fn spawn_with(extra: &[(&str, String)], skills: Vec<SkillEntry>) -> TestApp {
        let backends = Backends::new().await;
        TestApp::spawn_on(backends, extra, skills).await
    }

    pub async fn spawn_on(
        backends: Backends,
        extra: &[(&str, String)],
        skills: Vec<SkillEntry>,
    ) -> TestApp {
        let extras = Extras {
            skills,
            clock: None,
            ..Extras::default()
        };
        TestApp::spawn_on_extras(backends, extra, extras).await
    }

    /// An Alfred whose clock stands at `start` (RFC 3339) until [`TestApp::set_clock`] moves
    /// it. The scheduler's promises are about Postgres (one run per due time across replicas and
    /// restarts), so these tests keep durable stores; `CLOCK=manual` is refused there, and the
    /// clock comes in through the composition root instead of a setting.
    pub async fn spawn_at(
        start: &str,
        extra: &[(&str, String)],
        skills: Vec<SkillEntry>,
    ) -> TestApp {
        TestApp::spawn_on_at(Backends::new().await, start, extra, skills).await
    }

    /// [`TestApp::spawn_at`] on given backends.
    pub async fn spawn_on_at(
        backends: Backends,
        start: &str,
        extra: &[(&str, String)],
        skills: Vec<SkillEntry>,
    ) -> TestApp {
        let start = chrono::DateTime::parse_from_rfc3339(start).expect("an RFC 3339 start");
        let extras = Extras {
            skills,
            clock: Some(ManualClock::new(start.to_utc())),
            ..Extras::default()
        };
        TestApp::spawn_on_extras(backends, extra, extras).await
    }

    async fn spawn_on_extras(
        backends: Backends,
        extra: &[(&str, String)],
        extras: Extras,
    ) -> TestApp {
        let mut backends = backends;
        let settings = backends.settings(extra);
        backends.instance = settings.instance.as_str();
        let app = App::build_with_extras(settings, extras)
            .await
            .expect("Alfred starts");
        let base = format!("http://127.0.0.1:{}", app.http_port());
        backends
            .graph
            .send_statuses_to(&format!("{base}/webhook"), APP_SECRET);
        let admin = format!(
            "http://127.0.0.1:{}",
            app.admin_port().expect("admin API is on")
        );
        actix_rt::spawn(app.run_until_stopped());
        TestApp {
            backends,
            base,
            admin,
            http: reqwest::Client::new(),
        }
    }

    /// POSTs a body to `/webhook` with a valid signature (see also [`post_signed_to`]).
    pub async fn post_signed(&self, body: &str) -> reqwest::Response {
        self.post_webhook(body, Some(whatsapp::sign(APP_SECRET, body.as_bytes())))
            .await
    }

    pub async fn post_webhook(&self, body: &str, signature: Option<String>) -> reqwest::Response {
        let mut request = self
            .http
            .post(format!("{}/webhook", self.base))
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(signature) = signature {
            request = request.header("x-hub-signature-256", signature);
        }
        request.send().await.unwrap()
    }

    pub async fn admin_get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.admin))
            .bearer_auth(ADMIN_KEY)
            .send()
            .await
            .unwrap()
    }

    /// Sets the manual clock (`CLOCK=manual`) to `now` (RFC 3339) through the admin API.
    pub async fn set_clock(&self, now: &str) {
        let response = self
            .http
            .post(format!("{}/admin/clock", self.admin))
            .bearer_auth(ADMIN_KEY)
            .json(&serde_json::json!({ "now": now }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }

    /// The value of `series` (a name and its labels, as `/metrics` prints them, e.g.
    /// `alfred_llm_requests_total{result="failed"}`) in `/metrics`; 0 while it is absent.
    pub async fn metric(&self, series: &str) -> u64 {
        metric_at(&self.http, &self.base, series).await
    }

    /// The JSON entry of one actor in `/admin/actors`, searched through the whole tree.
    pub async fn actor(&self, name: &str) -> Option<serde_json::Value> {
        let tree: serde_json::Value = self.admin_get("/admin/actors").await.json().await.ok()?;
        find_actor(&tree, name)
    }
}

/// The suite's WhatsApp variables with the Graph API at `graph`: what turns WhatsApp on.
pub fn whatsapp_vars(graph: &FakeGraph) -> Vec<(&'static str, String)> {
    vec![
        ("META_TOKEN", META_TOKEN.to_owned()),
        ("PHONE_ID", PHONE_ID.to_owned()),
        ("VERIFY_TOKEN", VERIFY_TOKEN.to_owned()),
        ("APP_SECRET", APP_SECRET.to_owned()),
        ("GRAPH_API_URL", graph.url()),
        ("GRAPH_API_VERSION", "v21.0".to_owned()),
    ]
}

/// An Alfred in ephemeral mode (no Redis, no Postgres) with its admin API on: `extra` adds
/// settings (no platform unless it names one).
pub struct EphemeralApp {
    pub base: String,
    pub admin: String,
    pub http: reqwest::Client,
}

impl EphemeralApp {
    pub async fn spawn(extra: &[(&str, String)]) -> EphemeralApp {
        init_logs();
        let base = vec![
            ("INSTANCE", "home".to_owned()),
            ("HTTP_ADDR", "127.0.0.1:0".to_owned()),
            ("ADMIN_ADDR", "127.0.0.1:0".to_owned()),
            ("ADMIN_API_KEY", ADMIN_KEY.to_owned()),
        ];
        let settings = Settings::from_vars(crate::support::env_with(base, extra))
            .expect("test settings are valid");
        assert!(settings.is_ephemeral());
        let app = App::build(settings).await.expect("Alfred starts");
        let ephemeral = EphemeralApp {
            base: format!("http://127.0.0.1:{}", app.http_port()),
            admin: format!(
                "http://127.0.0.1:{}",
                app.admin_port().expect("admin API is on")
            ),
            http: reqwest::Client::new(),
        };
        actix_rt::spawn(app.run_until_stopped());
        ephemeral
    }
}

/// The value of `series` in the `/metrics` of the Alfred at `base`; 0 while it is absent.
async fn metric_at(http: &reqwest::Client, base: &str, series: &str) -> u64 {
    let url = format!("{base}/metrics");
    let text = http.get(url).send().await.unwrap().text().await;
    let prefix = format!("{series} ");
    text.unwrap()
        .lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0)
}

fn find_actor(node: &serde_json::Value, name: &str) -> Option<serde_json::Value> {
    match node {
        serde_json::Value::Object(map) => {
            if map.get("name").and_then(|n| n.as_str()) == Some(name) {
                return Some(node.clone());
            }
            map.values().find_map(|child| find_actor(child, name))
        }
        serde_json::Value::Array(items) => items.iter().find_map(|child| find_actor(child, name)),
        _ => None,
    }
}

/// A free TCP port on the loopback interface.
pub use alfred_testkit::free_port;

/// POSTs the WhatsApp webhook `body`, validly signed, to the Alfred at `base`
/// (`http://127.0.0.1:port`): whether it was accepted (200). A refused connection or a
/// time-out is "not accepted", as for a platform that retries elsewhere.
pub async fn post_signed_to(http: &reqwest::Client, base: &str, body: &str) -> bool {
    http.post(format!("{base}/webhook"))
        .header(
            "x-hub-signature-256",
            whatsapp::sign(APP_SECRET, body.as_bytes()),
        )
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .is_ok_and(|response| response.status() == 200)
}

/// How long a started `alfred` process may take to answer `/healthz`: a debug binary running
/// its migrations on a box busy with the rest of the suite can take longer than [`DEADLINE`].
const START_DEADLINE: Duration = Duration::from_secs(60);

/// The real `alfred` binary, for tests that kill the process.
pub struct AlfredProcess {
    child: Child,
    pub base: String,
}

impl AlfredProcess {
    /// Starts `alfred serve` listening on `port` with extra settings (`HOSTNAME` names the
    /// replica: its consumer names), and points the fake Graph API's status callbacks at it.
    pub async fn start_with(
        backends: &Backends,
        port: u16,
        extra: &[(&str, String)],
    ) -> AlfredProcess {
        backends
            .graph
            .send_statuses_to(&format!("http://127.0.0.1:{port}/webhook"), APP_SECRET);
        let mut command = Command::new(env!("CARGO_BIN_EXE_alfred"));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        let mut settings = vec![
            ("HTTP_ADDR", format!("127.0.0.1:{port}")),
            ("ADMIN_ADDR", format!("127.0.0.1:{}", free_port())),
            ("HOSTNAME", "alfred-e2e".to_owned()),
        ];
        settings.extend(extra.iter().cloned());
        for (key, value) in backends.env(&settings) {
            command.env(key, value);
        }
        let (stdout, stderr) = output(port);
        if let Ok(filter) = std::env::var("RUST_LOG") {
            command.env("RUST_LOG", filter);
        }
        let child = command
            .arg("serve")
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .unwrap();
        let mut process = AlfredProcess {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let url = format!("{}/healthz", process.base);
        let started = std::time::Instant::now();
        loop {
            if let Ok(Some(status)) = process.child.try_wait() {
                panic!(
                    "the alfred process exited with {status} before listening on port {port} \
                     (ALFRED_E2E_LOG_DIR=dir keeps its output)"
                );
            }
            let healthy = http
                .get(&url)
                .send()
                .await
                .is_ok_and(|response| response.status().is_success());
            if healthy {
                return process;
            }
            assert!(
                started.elapsed() < START_DEADLINE,
                "timed out waiting for the alfred process to listen on port {port}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Sends `signal` (`STOP`, `CONT`, …) to the process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} failed");
    }

    /// `kill -9`: no chance to finish anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `SIGSTOP`: the process freezes where it is, as in a long GC pause or a VM migration,
    /// until [`AlfredProcess::resume`]; its sockets stay open. (Dropping a stopped process
    /// still kills it: `SIGKILL` reaches a stopped process.)
    pub fn stop(&self) {
        self.signal("STOP");
    }

    /// `SIGCONT`: a stopped process carries on from where it was.
    pub fn resume(&self) {
        self.signal("CONT");
    }

    /// `SIGTERM` (a graceful stop, as a rolling deploy does), then waits until it has exited.
    pub async fn terminate(&mut self) -> ExitStatus {
        self.signal("TERM");
        let child = &mut self.child;
        eventually("alfred to exit after SIGTERM", || {
            let exited = child.try_wait().unwrap();
            async move { exited }
        })
        .await
    }

    /// The value of `series` in the process's `/metrics` (see [`TestApp::metric`]).
    pub async fn metric(&self, series: &str) -> u64 {
        metric_at(&reqwest::Client::new(), &self.base, series).await
    }
}

/// Where an `alfred` process's output goes: nowhere, or with `ALFRED_E2E_LOG_DIR` set (to
/// see what a replica did when a multi-process test fails) to `{dir}/{port}.log`, at the
/// level of `RUST_LOG` when set.
fn output(port: u16) -> (Stdio, Stdio) {
    let Ok(dir) = std::env::var("ALFRED_E2E_LOG_DIR") else {
        return (Stdio::null(), Stdio::null());
    };
    let file = std::fs::File::create(format!("{dir}/{port}.log")).unwrap();
    (Stdio::from(file.try_clone().unwrap()), Stdio::from(file))
}

impl Drop for AlfredProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

impl Backends {
    /// The quantity of one shopping-list item.
    pub async fn grocery_quantity(&self, name: &str) -> Option<f64> {
        let client = self.pg().await;
        let row = client
            .query_opt(
                "SELECT quantity::float8 FROM grocery_items WHERE name = $1",
                &[&name],
            )
            .await
            .unwrap()?;
        row.get::<_, Option<f64>>(0)
    }

    /// Whether the inbox holds a message id (the message, or job run, was handled).
    pub async fn inbox_has(&self, message_id: &str) -> bool {
        let client = self.pg().await;
        client
            .query_opt("SELECT 1 FROM inbox WHERE message_id = $1", &[&message_id])
            .await
            .unwrap()
            .is_some()
    }

    /// Outbox rows by state.
    pub async fn outbox_states(&self) -> Vec<(String, i64)> {
        let client = self.pg().await;
        let rows = client
            .query(
                "SELECT state, count(*) FROM outbox GROUP BY state ORDER BY state",
                &[],
            )
            .await
            .unwrap();
        rows.iter().map(|row| (row.get(0), row.get(1))).collect()
    }

    /// `(pending, lag)` of a consumer group: entries delivered but not acknowledged, and
    /// entries not yet delivered. A stream whose group is not there yet (a partition no
    /// reader has taken yet) has everything undelivered.
    pub async fn group_backlog(&self, stream: &str, group: &str) -> (u64, u64) {
        let mut conn = self.redis().await;
        let groups: Vec<std::collections::HashMap<String, deadpool_redis::redis::Value>> =
            deadpool_redis::redis::cmd("XINFO")
                .arg("GROUPS")
                .arg(self.stream_key(stream))
                .query_async(&mut conn)
                .await
                .unwrap_or_default();
        let group = self.group_name(group);
        let Some(info) = groups.into_iter().find(|info| {
            matches!(info.get("name"), Some(deadpool_redis::redis::Value::BulkString(name)) if name == group.as_bytes())
        }) else {
            return (0, self.stream_len(stream).await);
        };
        let number = |key: &str| match info.get(key) {
            Some(deadpool_redis::redis::Value::Int(n)) => u64::try_from(*n).unwrap_or(0),
            // A nil lag means Redis cannot tell: count it as not caught up.
            _ => 1,
        };
        (number("pending"), number("lag"))
    }

    /// `(idle ms, deliveries)` of each entry pending in a consumer group (`XPENDING`), in
    /// stream order.
    pub async fn pending_entries(&self, stream: &str, group: &str) -> Vec<(u64, u64)> {
        let mut conn = self.redis().await;
        let entries: Vec<(String, String, u64, u64)> = deadpool_redis::redis::cmd("XPENDING")
            .arg(self.stream_key(stream))
            .arg(self.group_name(group))
            .arg("-")
            .arg("+")
            .arg(1000)
            .query_async(&mut conn)
            .await
            .unwrap_or_default();
        entries
            .into_iter()
            .map(|(_, _, idle, deliveries)| (idle, deliveries))
            .collect()
    }

    /// The names of every ingest stream a test's Alfred may write: the single `alfred-ingest`
    /// and the partition streams of the default `INGEST_PARTITIONS` (a test with fewer
    /// partitions uses a prefix of them; a stream never written counts as empty).
    pub fn ingest_streams(&self) -> Vec<String> {
        let partitions = (0..alfred_config::defaults::INGEST_PARTITIONS)
            .map(|p| alfred_actors::names::ingest_partition_stream("", p));
        std::iter::once(alfred_actors::names::INGEST_STREAM.to_owned())
            .chain(partitions)
            .collect()
    }

    /// Entries ever added to the ingest streams, single and partitioned together: what the
    /// edges stored, wherever the placement put it.
    pub async fn ingest_len(&self) -> u64 {
        let mut total = 0;
        for stream in self.ingest_streams() {
            total += self.stream_len(&stream).await;
        }
        total
    }

    /// `(pending, lag)` of the ingest group over every ingest stream, summed.
    pub async fn ingest_backlog(&self) -> (u64, u64) {
        let mut total = (0, 0);
        for stream in self.ingest_streams() {
            let (pending, lag) = self.group_backlog(&stream, "alfred-orchestrators").await;
            total = (total.0 + pending, total.1 + lag);
        }
        total
    }

    /// `(idle ms, deliveries)` of each entry pending in the ingest group, over every ingest
    /// stream.
    pub async fn ingest_pending_entries(&self) -> Vec<(u64, u64)> {
        let mut all = Vec::new();
        for stream in self.ingest_streams() {
            all.extend(self.pending_entries(&stream, "alfred-orchestrators").await);
        }
        all
    }

    /// Waits until every ingest entry is handled and acknowledged and every reply is final
    /// (sent or dead): nothing is left that could still produce a send.
    pub async fn quiescent(&self) {
        eventually("the system to settle", || async {
            let ingest = self.ingest_backlog().await;
            let outbox = self.group_backlog("alfred-outbox", "alfred-senders").await;
            let states = self.outbox_states().await;
            let open = states
                .iter()
                .any(|(state, _)| state != "sent" && state != "dead");
            (ingest == (0, 0) && outbox == (0, 0) && !open).then_some(())
        })
        .await
    }
}

impl TestApp {
    pub async fn quiescent(&self) {
        self.backends.quiescent().await;
    }

    /// Waits until this Alfred owns every ingest partition (its readers run): what a test
    /// that takes a store away from a running Alfred starts from.
    pub async fn owns_every_partition(&self) {
        eventually("this Alfred to own every partition", || async {
            let listed: serde_json::Value =
                self.admin_get("/admin/streams").await.json().await.ok()?;
            let partitions = listed["partitions"].as_array()?;
            (!partitions.is_empty() && partitions.iter().all(|p| p["owned_here"] == true))
                .then_some(())
        })
        .await;
    }
}
