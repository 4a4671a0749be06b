//! The load: `connections` keep-alive HTTP/1.1 connections, one request in flight on each
//! (a closed loop, like `wrk -c`), optionally paced to a fixed rate. With several addresses
//! (replicas), connection `i` goes to address `i mod n`, as behind a round-robin balancer: any
//! replica receives webhooks of any conversation.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::request::{Requests, Target};

/// How to drive.
#[derive(Clone)]
pub struct Load {
    /// Alfred's addresses (at least one); connection `i` uses `addrs[i % addrs.len()]`.
    pub addrs: Vec<SocketAddr>,
    pub target: Target,
    pub connections: usize,
    /// Stop after this many requests (all connections together).
    pub limit: Option<u64>,
    /// Requests per second for all connections together; `None`: as fast as answered.
    pub rate: Option<f64>,
}

/// What the connections measured.
#[derive(Default)]
pub struct Totals {
    /// Latency of each answered request, in microseconds.
    pub latencies_us: Vec<u32>,
    pub statuses: HashMap<u16, u64>,
    /// Connections that failed (reset, closed) and were re-opened.
    pub errors: u64,
    /// When each message accepted with 200 was sent: (message number, time).
    pub accepted: Vec<(u64, Instant)>,
    /// Answered requests per address.
    pub per_addr: HashMap<SocketAddr, u64>,
}

impl Totals {
    fn merge(&mut self, other: Totals) {
        self.latencies_us.extend(other.latencies_us);
        self.errors += other.errors;
        for (status, count) in other.statuses {
            *self.statuses.entry(status).or_default() += count;
        }
        self.accepted.extend(other.accepted);
        for (addr, count) in other.per_addr {
            *self.per_addr.entry(addr).or_default() += count;
        }
    }

    /// Requests answered with 200.
    pub fn ok(&self) -> u64 {
        self.statuses.get(&200).copied().unwrap_or(0)
    }
}

/// Runs the load until `stop` is set or the limit is reached.
pub async fn drive(
    load: &Load,
    stop: Arc<AtomicBool>,
    record_sends: bool,
) -> anyhow::Result<(Totals, Duration)> {
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::with_capacity(load.connections);
    anyhow::ensure!(!load.addrs.is_empty(), "no address to drive");
    for i in 0..load.connections.max(1) {
        let (counter, stop, load) = (counter.clone(), stop.clone(), load.clone());
        let addr = load.addrs[i % load.addrs.len()];
        workers.push(tokio::spawn(async move {
            connection(load, addr, counter, stop, started, record_sends).await
        }));
    }
    let mut all = Totals::default();
    for worker in workers {
        all.merge(worker.await??);
    }
    Ok((all, started.elapsed()))
}

async fn connection(
    load: Load,
    addr: SocketAddr,
    counter: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    started: Instant,
    record_sends: bool,
) -> anyhow::Result<Totals> {
    // The `host` header names the replica this connection talks to.
    let target = Target {
        host: addr.to_string(),
        ..load.target.clone()
    };
    let mut requests = Requests::new(&target)?;
    let mut totals = Totals {
        latencies_us: Vec::with_capacity(1 << 16),
        ..Totals::default()
    };
    let mut stream = open(addr).await?;
    let mut buffer = Vec::with_capacity(4096);
    while !stop.load(Ordering::Relaxed) {
        let n = counter.fetch_add(1, Ordering::Relaxed);
        if load.limit.is_some_and(|limit| n >= limit) {
            break;
        }
        if let Some(rate) = load.rate {
            let due = started + Duration::from_secs_f64(n as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
        }
        let request = requests.render(n);
        let sent = Instant::now();
        match round_trip(&mut stream, request, &mut buffer).await {
            Ok(status) => {
                let micros = u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX);
                totals.latencies_us.push(micros);
                *totals.statuses.entry(status).or_default() += 1;
                *totals.per_addr.entry(addr).or_default() += 1;
                if record_sends && status == 200 {
                    totals.accepted.push((n, sent));
                }
            }
            Err(_) => {
                totals.errors += 1;
                stream = open(addr).await?;
            }
        }
    }
    Ok(totals)
}

async fn open(addr: SocketAddr) -> anyhow::Result<TcpStream> {
    let stream = TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to Alfred at {addr}"))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Sends one request and reads its whole response; returns the status.
async fn round_trip(
    stream: &mut TcpStream,
    request: &[u8],
    buffer: &mut Vec<u8>,
) -> anyhow::Result<u16> {
    stream.write_all(request).await?;
    buffer.clear();
    let mut chunk = [0u8; 4096];
    loop {
        let read = stream.read(&mut chunk).await?;
        if read == 0 {
            bail!("connection closed");
        }
        buffer.extend_from_slice(&chunk[..read]);
        let Some(head_end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head =
            std::str::from_utf8(&buffer[..head_end]).context("response head is not UTF-8")?;
        let status: u16 = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .context("no status")?;
        let length = crate::http::content_length(head);
        if buffer.len() >= head_end + 4 + length {
            return Ok(status);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// A server answering every request with an empty 200; counts the connections it accepted.
    async fn server() -> (SocketAddr, Arc<AtomicU64>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicU64::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(async move {
                    let mut buffer = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while let Ok(read) = stream.read(&mut chunk).await {
                        if read == 0 {
                            return;
                        }
                        buffer.extend_from_slice(&chunk[..read]);
                        // One request: its head and a body of content-length bytes.
                        while let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                            let head = String::from_utf8_lossy(&buffer[..end]).to_string();
                            let total = end + 4 + crate::http::content_length(&head);
                            if buffer.len() < total {
                                break;
                            }
                            buffer.drain(..total);
                            let response = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                            if stream.write_all(response).await.is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (addr, accepted)
    }

    #[tokio::test]
    async fn connections_are_spread_round_robin_over_the_addresses() {
        let (a, connections_a) = server().await;
        let (b, connections_b) = server().await;
        let load = Load {
            addrs: vec![a, b],
            target: Target {
                host: a.to_string(),
                phone_id: "100000000001".into(),
                secret: "s3cret".into(),
                senders: 10,
                run_id: 1,
            },
            connections: 4,
            limit: Some(400),
            rate: None,
        };
        let (totals, _) = drive(&load, Arc::new(AtomicBool::new(false)), true)
            .await
            .unwrap();
        assert_eq!(totals.ok(), 400);
        assert_eq!(totals.accepted.len(), 400);
        assert_eq!(connections_a.load(Ordering::Relaxed), 2);
        assert_eq!(connections_b.load(Ordering::Relaxed), 2);
        assert_eq!(totals.per_addr.values().sum::<u64>(), 400);
        assert!(totals.per_addr[&a] > 0 && totals.per_addr[&b] > 0);
    }
}
