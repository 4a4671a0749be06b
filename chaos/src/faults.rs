//! The faults and their schedule: the n faults asked for are spread evenly over the load,
//! fault i starting at (i + 1) / (n + 1) of its planned duration, one after the other (a
//! fault that runs long pushes the next one later). Each is recorded as a [`Window`] from its
//! start to the moment the system is whole again (a restarted replica ready, Redis answering).

use std::time::{Duration, Instant};

use alfred_testkit::graph::FakeGraph;
use clap::ValueEnum;

use crate::check::Window;
use crate::cluster::Cluster;

/// One fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Fault {
    /// SIGKILL a replica (the next in turn) and start it again.
    Kill,
    /// SIGSTOP a replica for `--stop-secs` (past the claim time), then SIGCONT.
    Stop,
    /// SIGTERM every replica in turn, each started again before the next.
    Rolling,
    /// Kill Redis and start it again after `--outage-secs` (AOF keeps the data).
    Redis,
    /// Stop Postgres and start it again after `--outage-secs`.
    Postgres,
    /// 100 ms per chunk each way on both proxies for `--outage-secs` × 2.
    ProxyLatency,
    /// Cut every connection to Redis and Postgres, and refuse new ones for 1 s.
    ProxyCut,
    /// The Graph API answers the next 40 sends 429 (Retry-After 1), then 40 with 503.
    GraphStorm,
    /// The Graph API answers every send after 2 s, for `--outage-secs` × 2.
    GraphSlow,
}

impl Fault {
    pub fn name(self) -> String {
        self.to_possible_value()
            .map_or_else(String::new, |value| value.get_name().to_owned())
    }
}

/// How long the timed faults last.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub stop: Duration,
    pub outage: Duration,
}

/// Runs `faults` over a load of planned length `span` that started at `started`.
pub async fn inject(
    cluster: &mut Cluster,
    faults: &[Fault],
    timing: Timing,
    started: Instant,
    span: Duration,
) -> anyhow::Result<Vec<Window>> {
    let mut windows = Vec::new();
    let mut next_replica = 0usize;
    let count = faults.len() as u32;
    for (i, fault) in faults.iter().enumerate() {
        let at = started + span * (i as u32 + 1) / (count + 1);
        tokio::time::sleep_until(at.into()).await;
        let start = Instant::now();
        let target = next_replica % cluster.replica_count();
        if matches!(fault, Fault::Kill | Fault::Stop) {
            next_replica += 1;
        }
        eprintln!(
            "chaos: {:>6.1} s  fault {}{}",
            start.duration_since(started).as_secs_f64(),
            fault.name(),
            if matches!(fault, Fault::Kill | Fault::Stop) {
                format!(" (replica {target})")
            } else {
                String::new()
            }
        );
        run(cluster, *fault, target, timing).await?;
        let end = Instant::now();
        windows.push(Window {
            fault: fault.name(),
            start_secs: start.duration_since(started).as_secs_f64(),
            end_secs: end.duration_since(started).as_secs_f64(),
            start,
            end,
        });
    }
    Ok(windows)
}

async fn run(
    cluster: &mut Cluster,
    fault: Fault,
    target: usize,
    timing: Timing,
) -> anyhow::Result<()> {
    match fault {
        Fault::Kill => cluster.kill_and_restart(target).await?,
        Fault::Stop => cluster.pause(target, timing.stop).await?,
        Fault::Rolling => cluster.rolling_restart().await?,
        Fault::Redis => cluster.restart_redis(timing.outage).await,
        Fault::Postgres => cluster.restart_postgres(timing.outage).await,
        Fault::ProxyLatency => {
            for proxy in [&cluster.redis_proxy, &cluster.postgres_proxy] {
                proxy.set_latency(Duration::from_millis(100));
            }
            tokio::time::sleep(timing.outage * 2).await;
            for proxy in [&cluster.redis_proxy, &cluster.postgres_proxy] {
                proxy.set_latency(Duration::ZERO);
            }
        }
        Fault::ProxyCut => {
            for proxy in [&cluster.redis_proxy, &cluster.postgres_proxy] {
                proxy.set_refusing(true);
                proxy.cut();
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
            for proxy in [&cluster.redis_proxy, &cluster.postgres_proxy] {
                proxy.set_refusing(false);
            }
        }
        Fault::GraphStorm => {
            let graph = &cluster.graph;
            graph.fail_next(
                40,
                429,
                FakeGraph::error_body(130429, "Rate limit hit"),
                Some(1),
            );
            graph.fail_next(
                40,
                503,
                FakeGraph::error_body(131000, "Something went wrong"),
                None,
            );
            // The storm lasts until the fake has used up its script (two minutes at most).
            let before = graph.request_count();
            let deadline = Instant::now() + Duration::from_secs(120);
            while graph.request_count() < before + 80 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Fault::GraphSlow => {
            cluster.graph.set_delay(Duration::from_secs(2));
            tokio::time::sleep(timing.outage * 2).await;
            cluster.graph.set_delay(Duration::ZERO);
        }
    }
    Ok(())
}
