//! A private three-master Redis Cluster on loopback ports, for the tests that run Alfred on a
//! cluster (`REDIS_URL` listing its nodes).
//!
//! Three `redis-server --cluster-enabled yes` (no persistence, each in a temporary directory of
//! its own, with its cluster bus on a free port of its own rather than port + 10000, which may
//! be taken or out of range), joined by `redis-cli --cluster create … --cluster-replicas 0`,
//! which spreads the 16,384 slots over the three. [`RedisCluster::start`] returns once every
//! node reports `cluster_state:ok`; dropping it kills the servers and removes the directories.

use std::ffi::OsStr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;
use crate::redis::redis_server;

/// Masters of the cluster.
const MASTERS: usize = 3;

/// A running three-master Redis Cluster, stopped when dropped.
pub struct RedisCluster {
    ports: Vec<u16>,
    dir: PathBuf,
    children: Vec<Child>,
}

impl RedisCluster {
    /// Starts three masters, creates the cluster and waits until every node says
    /// `cluster_state:ok`. Panics with what to install when `redis-server` or `redis-cli` is
    /// missing, and with the nodes' log directory when the cluster does not form.
    pub fn start() -> RedisCluster {
        let dir = std::env::temp_dir().join(format!(
            "alfred-redis-cluster-{}",
            uuid::Uuid::new_v4().simple()
        ));
        let mut cluster = RedisCluster {
            ports: Vec::new(),
            dir,
            children: Vec::new(),
        };
        for node in 0..MASTERS {
            let (port, bus_port) = (free_port(), free_port());
            let node_dir = cluster.dir.join(format!("node-{node}"));
            std::fs::create_dir_all(&node_dir)
                .expect("cannot create a temporary directory for redis-server");
            let port_arg = port.to_string();
            let bus_arg = bus_port.to_string();
            let args = [
                OsStr::new("--port"),
                OsStr::new(&port_arg),
                OsStr::new("--cluster-enabled"),
                OsStr::new("yes"),
                OsStr::new("--cluster-port"),
                OsStr::new(&bus_arg),
                OsStr::new("--cluster-config-file"),
                OsStr::new("nodes.conf"),
                OsStr::new("--cluster-node-timeout"),
                OsStr::new("5000"),
            ];
            let log = node_dir.join("redis.log");
            cluster.children.push(redis_server(&node_dir, &log, &args));
            cluster.ports.push(port);
        }
        cluster.wait_for(Duration::from_secs(10), "every node answers PING", |port| {
            cli(port, &["PING"]).is_some_and(|reply| reply.trim() == "PONG")
        });
        let addresses: Vec<String> = cluster
            .ports
            .iter()
            .map(|port| format!("127.0.0.1:{port}"))
            .collect();
        let created = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .expect("cannot run redis-cli: install it with redis-server");
        assert!(
            created.status.success(),
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&created.stdout),
            String::from_utf8_lossy(&created.stderr)
        );
        cluster.wait_for(
            Duration::from_secs(20),
            "cluster_state:ok on every node",
            |port| {
                cli(port, &["CLUSTER", "INFO"])
                    .is_some_and(|info| info.contains("cluster_state:ok"))
            },
        );
        cluster
    }

    /// `REDIS_URL` for the cluster: its nodes, comma-separated.
    pub fn url(&self) -> String {
        self.ports
            .iter()
            .map(|port| format!("redis://127.0.0.1:{port}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The nodes' client ports.
    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// Kills master `index` (SIGKILL). With no replicas its slots have no server until the
    /// test ends: commands for them fail, the others' keep working.
    pub fn kill_node(&mut self, index: usize) {
        let child = &mut self.children[index];
        let _ = child.kill();
        let _ = child.wait();
    }

    fn wait_for(&mut self, deadline: Duration, what: &str, ready: impl Fn(u16) -> bool) {
        let until = Instant::now() + deadline;
        while !self.ports.iter().all(|port| ready(*port)) {
            for child in &mut self.children {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "a cluster redis-server exited with {status}; see the logs under {}",
                        self.dir.display()
                    );
                }
            }
            assert!(
                Instant::now() < until,
                "the Redis Cluster did not reach \"{what}\" within {deadline:?}; see the logs under {}",
                self.dir.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `redis-cli -p port args…`: its output, or `None` when it could not run or failed.
fn cli(port: u16, args: &[&str]) -> Option<String> {
    let output = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}
