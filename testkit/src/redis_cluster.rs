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

/// Clusters launched at most when a node finds its port taken.
const PORT_ATTEMPTS: u32 = 3;

/// A running three-master Redis Cluster, stopped when dropped.
pub struct RedisCluster {
    ports: Vec<u16>,
    dir: PathBuf,
    children: Vec<Child>,
}

impl RedisCluster {
    /// Starts three masters, creates the cluster and waits until every node says
    /// `cluster_state:ok`. Panics with what to install when `redis-server` or `redis-cli` is
    /// missing, and with the ends of the nodes' logs when the cluster does not form.
    pub fn start() -> RedisCluster {
        let mut attempt = 1;
        let mut cluster = loop {
            let mut cluster = RedisCluster::launch();
            match cluster.wait_for(Duration::from_secs(10), "every node answers PING", |port| {
                cli(port, &["PING"]).is_some_and(|reply| reply.trim() == "PONG")
            }) {
                Ok(()) => break cluster,
                // A free port another test took between our probe and the server's bind.
                Err(exited)
                    if attempt < PORT_ATTEMPTS && exited.contains("Address already in use") =>
                {
                    attempt += 1;
                }
                Err(exited) => panic!("{exited}"),
            }
        };
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
        let formed = cluster.wait_for(
            Duration::from_secs(20),
            "cluster_state:ok on every node",
            |port| {
                cli(port, &["CLUSTER", "INFO"])
                    .is_some_and(|info| info.contains("cluster_state:ok"))
            },
        );
        if let Err(exited) = formed {
            panic!("{exited}");
        }
        cluster
    }

    /// Starts the three servers on fresh free ports.
    fn launch() -> RedisCluster {
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

    /// The last lines of node `node`'s log (its directory is gone once the cluster is dropped).
    fn log_tail(&self, node: usize) -> String {
        let log = self.dir.join(format!("node-{node}")).join("redis.log");
        let log = std::fs::read_to_string(log).unwrap_or_default();
        let mut tail: Vec<&str> = log.lines().rev().take(5).collect();
        tail.reverse();
        tail.join("\n")
    }

    /// Polls until every node is `ready`; an error naming the node's exit status and the end of
    /// its log when a server exits.
    fn wait_for(
        &mut self,
        deadline: Duration,
        what: &str,
        ready: impl Fn(u16) -> bool,
    ) -> Result<(), String> {
        let until = Instant::now() + deadline;
        while !self.ports.iter().all(|port| ready(*port)) {
            for (node, child) in self.children.iter_mut().enumerate() {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(format!(
                        "a cluster redis-server exited with {status}; the end of its log:\n{}",
                        self.log_tail(node)
                    ));
                }
            }
            if Instant::now() >= until {
                let logs: Vec<String> = (0..self.children.len())
                    .map(|node| format!("node {node}:\n{}", self.log_tail(node)))
                    .collect();
                panic!(
                    "the Redis Cluster did not reach \"{what}\" within {deadline:?}; the ends of its logs:\n{}",
                    logs.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
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
