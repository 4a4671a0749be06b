//! The system under test: N `alfred serve` processes on one private Redis (AOF) and one
//! private Postgres cluster, each reached through a [`FaultProxy`], with the fake Graph API.
//!
//! Every replica keeps its `HOSTNAME` (`chaos-{i}`) and its two loopback ports across restarts,
//! so a restarted replica is the same consumer name behind the same balancer slot, as a
//! container restarted by its platform would be. Its log is appended to `replica-{i}.log` in
//! the work directory. Redis and Postgres keep their ports (and data) across their restarts,
//! so the proxies' upstream addresses never change.
//!
//! The private servers' start and stop block (they wait for the server to answer), so they run
//! in `block_in_place`: the load keeps going on the runtime's other worker meanwhile.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alfred_testkit::fault_proxy::FaultProxy;
use alfred_testkit::graph::FakeGraph;
use alfred_testkit::postgres::PrivatePostgres;
use alfred_testkit::redis::PrivateRedis;
use anyhow::{bail, Context};
use tokio::task::block_in_place;

/// What every replica is given (the webhook's secret, the phone number id, the admin key).
pub const APP_SECRET: &str = "chaos-app-secret";
pub const PHONE_ID: &str = "100000000077";
pub const ADMIN_KEY: &str = "chaos-admin-key-0123";
const DATABASE: &str = "alfred_chaos";
const KEY_PREFIX: &str = "chaos:";

/// How to run the replicas.
pub struct Settings {
    pub alfred: PathBuf,
    pub replicas: usize,
    /// `INGEST_CLAIM_IDLE_MS` and `OUTBOX_CLAIM_IDLE_MS`: how long a stalled replica's entries
    /// wait before another claims them (today's "lease").
    pub claim_idle_ms: u64,
    /// `INGEST_PARTITIONS` (0: the single ingest stream).
    pub partitions: u32,
    /// `INGEST_LEASE_MS`.
    pub lease_ms: u64,
    /// Where the replicas' logs go.
    pub work: PathBuf,
}

struct Replica {
    http: SocketAddr,
    admin: SocketAddr,
    child: Option<Child>,
}

/// The running system; everything stops when it is dropped.
pub struct Cluster {
    settings: Settings,
    replicas: Vec<Replica>,
    pub redis: PrivateRedis,
    pub postgres: PrivatePostgres,
    pub redis_proxy: FaultProxy,
    pub postgres_proxy: FaultProxy,
    pub graph: FakeGraph,
    http: reqwest::Client,
}

impl Cluster {
    /// Starts Redis, Postgres, the proxies, the fake Graph API and every replica (the first
    /// alone, so that it applies the migrations), and waits until each answers `/readyz`.
    pub async fn start(settings: Settings) -> anyhow::Result<Cluster> {
        let redis = block_in_place(PrivateRedis::start_with_aof);
        let postgres = block_in_place(PrivatePostgres::start);
        create_database(&postgres.url()).await?;
        let redis_proxy = FaultProxy::start(([127, 0, 0, 1], redis.port()).into()).await?;
        let postgres_proxy = FaultProxy::start(([127, 0, 0, 1], postgres.port()).into()).await?;
        let graph = FakeGraph::start().await;
        let replicas = (0..settings.replicas)
            .map(|_| Replica {
                http: free_addr(),
                admin: free_addr(),
                child: None,
            })
            .collect();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        let mut cluster = Cluster {
            settings,
            replicas,
            redis,
            postgres,
            redis_proxy,
            postgres_proxy,
            graph,
            http,
        };
        let urls = cluster.webhook_urls();
        cluster.graph.send_statuses_to_any(&urls, APP_SECRET);
        for index in 0..cluster.replicas.len() {
            cluster.spawn(index)?;
            if index == 0 {
                cluster.wait_ready(0).await?;
            }
        }
        for index in 1..cluster.replicas.len() {
            cluster.wait_ready(index).await?;
        }
        Ok(cluster)
    }

    /// Each replica's `POST /webhook`, in balancer order.
    pub fn webhook_urls(&self) -> Vec<String> {
        self.replicas
            .iter()
            .map(|replica| format!("http://{}/webhook", replica.http))
            .collect()
    }

    pub fn replica_count(&self) -> usize {
        self.replicas.len()
    }

    /// Postgres, directly (not through the proxy), for the checker.
    pub fn database_url(&self) -> String {
        with_database(&self.postgres.url())
    }

    fn spawn(&mut self, index: usize) -> anyhow::Result<()> {
        let log_path = self.settings.work.join(format!("replica-{index}.log"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("cannot open {}", log_path.display()))?;
        let replica = &self.replicas[index];
        let database_url = format!(
            "postgres://postgres@{}/{DATABASE}?sslmode=disable",
            self.postgres_proxy.addr()
        );
        let claim_idle = self.settings.claim_idle_ms.to_string();
        let child = Command::new(&self.settings.alfred)
            .arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("INSTANCE", "home")
            .env("HOSTNAME", format!("chaos-{index}"))
            .env("HTTP_ADDR", replica.http.to_string())
            .env("ADMIN_ADDR", replica.admin.to_string())
            .env("ADMIN_API_KEY", ADMIN_KEY)
            .env("REDIS_URL", format!("redis://{}", self.redis_proxy.addr()))
            .env("REDIS_KEY_PREFIX", KEY_PREFIX)
            .env("DATABASE_URL", database_url)
            .env("META_TOKEN", "chaos-token")
            .env("PHONE_ID", PHONE_ID)
            .env("VERIFY_TOKEN", "chaos-verify")
            .env("APP_SECRET", APP_SECRET)
            .env("GRAPH_API_URL", self.graph.url())
            .env("INGEST_CLAIM_IDLE_MS", &claim_idle)
            .env("OUTBOX_CLAIM_IDLE_MS", &claim_idle)
            .env("INGEST_PARTITIONS", self.settings.partitions.to_string())
            .env("INGEST_LEASE_MS", self.settings.lease_ms.to_string())
            .env("LOG_FORMAT", "json")
            .env(
                "RUST_LOG",
                std::env::var("CHAOS_RUST_LOG").unwrap_or_else(|_| "info".to_owned()),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("cannot start {}", self.settings.alfred.display()))?;
        self.replicas[index].child = Some(child);
        Ok(())
    }

    /// Polls `/readyz` until it answers 200 (90 s at most).
    async fn wait_ready(&mut self, index: usize) -> anyhow::Result<()> {
        let url = format!("http://{}/readyz", self.replicas[index].http);
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let ready = self.http.get(&url).send().await;
            if ready.is_ok_and(|response| response.status().is_success()) {
                return Ok(());
            }
            if let Some(child) = self.replicas[index].child.as_mut() {
                if let Some(status) = child.try_wait()? {
                    bail!("replica {index} exited with {status} before it was ready (see its log)");
                }
            }
            if Instant::now() > deadline {
                bail!("replica {index} was not ready within 90 s (see its log)");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn pid(&self, index: usize) -> anyhow::Result<u32> {
        self.replicas[index]
            .child
            .as_ref()
            .map(Child::id)
            .with_context(|| format!("replica {index} is not running"))
    }

    /// SIGKILL, then a fresh start under the same name and ports.
    pub async fn kill_and_restart(&mut self, index: usize) -> anyhow::Result<()> {
        if let Some(mut child) = self.replicas[index].child.take() {
            child.kill()?;
            child.wait()?;
        }
        self.spawn(index)?;
        self.wait_ready(index).await
    }

    /// SIGSTOP for `pause`, then SIGCONT.
    pub async fn pause(&mut self, index: usize, pause: Duration) -> anyhow::Result<()> {
        let pid = self.pid(index)?;
        signal("STOP", pid)?;
        tokio::time::sleep(pause).await;
        signal("CONT", pid)
    }

    /// SIGTERM to each replica in turn; each is started again and ready before the next.
    pub async fn rolling_restart(&mut self) -> anyhow::Result<()> {
        for index in 0..self.replicas.len() {
            self.terminate(index).await?;
            self.spawn(index)?;
            self.wait_ready(index).await?;
        }
        Ok(())
    }

    /// SIGTERM and wait for a graceful exit (30 s, then SIGKILL).
    async fn terminate(&mut self, index: usize) -> anyhow::Result<()> {
        let pid = self.pid(index)?;
        signal("TERM", pid)?;
        let deadline = Instant::now() + Duration::from_secs(30);
        if let Some(mut child) = self.replicas[index].child.take() {
            while child.try_wait()?.is_none() {
                if Instant::now() > deadline {
                    eprintln!("chaos: replica {index} ignored SIGTERM for 30 s: killed");
                    child.kill()?;
                    child.wait()?;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(())
    }

    /// Kills Redis (SIGKILL: its AOF holds what it acknowledged), waits `outage`, starts it.
    pub async fn restart_redis(&mut self, outage: Duration) {
        block_in_place(|| self.redis.stop());
        tokio::time::sleep(outage).await;
        block_in_place(|| self.redis.start_again());
    }

    /// Stops Postgres, waits `outage`, starts it again with its data.
    pub async fn restart_postgres(&mut self, outage: Duration) {
        block_in_place(|| self.postgres.stop());
        tokio::time::sleep(outage).await;
        block_in_place(|| self.postgres.start_again());
    }

    /// `GET {admin}{path}` from the first replica that answers 200, as JSON.
    pub async fn admin_get(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let mut last = None;
        for replica in &self.replicas {
            let url = format!("http://{}{path}", replica.admin);
            match self.http.get(&url).bearer_auth(ADMIN_KEY).send().await {
                Ok(response) if response.status().is_success() => {
                    return Ok(response.json().await?);
                }
                Ok(response) => last = Some(format!("{url}: {}", response.status())),
                Err(error) => last = Some(format!("{url}: {error}")),
            }
        }
        bail!("no replica answered {path}: {}", last.unwrap_or_default())
    }

    /// Stops every replica (SIGKILL: the run is over).
    pub fn stop_all(&mut self) {
        for replica in &mut self.replicas {
            if let Some(mut child) = replica.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop_all();
    }
}

fn signal(name: &str, pid: u32) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .args(["-s", name, &pid.to_string()])
        .status()
        .context("cannot run kill")?;
    if !status.success() {
        bail!("kill -s {name} {pid} failed with {status}");
    }
    Ok(())
}

fn free_addr() -> SocketAddr {
    ([127, 0, 0, 1], alfred_testkit::free_port()).into()
}

fn with_database(server_url: &str) -> String {
    match server_url.rsplit_once('/') {
        Some((server, _)) => format!("{server}/{DATABASE}"),
        None => server_url.to_owned(),
    }
}

async fn create_database(server_url: &str) -> anyhow::Result<()> {
    let (client, connection) = tokio_postgres::connect(server_url, tokio_postgres::NoTls)
        .await
        .context("cannot connect to the private Postgres")?;
    tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE DATABASE {DATABASE}"))
        .await
        .context("cannot create the chaos database")?;
    Ok(())
}
