//! `alfred-bench`: drives Alfred's WhatsApp webhook with realistic, distinct, signed payloads.
//!
//! * `ingest` — as many webhooks as `--connections` keep-alive connections can push for
//!   `--seconds` (after a `--warmup`); reports requests/s and latency percentiles. Each
//!   request carries a new wamid, so every one is a real message that Alfred stores.
//! * `e2e` — serves a fake Graph API on `--graph-addr` (point Alfred's `GRAPH_API_URL` at it),
//!   sends `--messages` webhooks (at `--rate` per second, or as fast as they are accepted) and
//!   waits for every reply; reports messages/s end to end, webhook-to-reply latency, and checks
//!   that each accepted message was answered exactly once.
//! * `--addr` takes several addresses (replicas sharing one Redis and one Postgres): the
//!   connections are spread round-robin over them, so any replica receives webhooks of any
//!   conversation, as behind a round-robin balancer; the exactly-once check counts replies from
//!   all of them at the one fake Graph API.
//! * `--pid` samples the resident memory of the Alfred processes during the run (each one's
//!   peak, and their sum).
//!
//! Layout: [`request`] renders signed requests cheaply, [`client`] is a minimal HTTP/1.1
//! keep-alive client over raw TCP (so that the load generator costs little CPU on the box it
//! shares with Alfred), [`graph`] the lean fake Graph API, [`http`] the framing both read, [`report`] percentiles and
//! memory.

mod client;
mod graph;
mod http;
mod report;
mod request;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

use client::{drive, Load};
use report::{latency_line, RssSampler};
use request::{Requests, Target};

#[derive(Parser)]
#[command(about = "Load generator for Alfred's WhatsApp webhook")]
struct Cli {
    /// Alfred's public address. Several replicas: repeat the flag or separate the addresses
    /// with commas (`--addr 127.0.0.1:18000,127.0.0.1:18002`); connection i goes to address
    /// i mod n (round-robin, as behind a balancer).
    #[arg(
        long,
        default_value = "127.0.0.1:8000",
        value_delimiter = ',',
        required = false
    )]
    addr: Vec<SocketAddr>,
    /// Alfred's APP_SECRET.
    #[arg(long, default_value = "bench-app-secret")]
    secret: String,
    /// Alfred's PHONE_ID.
    #[arg(long, default_value = "100000000001")]
    phone_id: String,
    /// Keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Distinct senders (conversations) the messages come from.
    #[arg(long, default_value_t = 1000)]
    senders: u64,
    /// Alfred's process id, to report its resident memory. Several processes (replicas): repeat
    /// the flag or separate the ids with commas; each one's peak is reported, and the sum.
    #[arg(long, value_delimiter = ',')]
    pid: Vec<u32>,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Webhook ingest throughput and latency.
    Ingest {
        /// Measured duration.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Unmeasured load before it (connections, caches, JIT-free but allocator warm-up).
        #[arg(long, default_value_t = 2)]
        warmup: u64,
    },
    /// Webhook to reply at the fake Graph API.
    E2e {
        #[arg(long, default_value_t = 50_000)]
        messages: u64,
        /// Messages per second offered; 0: as fast as the webhook accepts them.
        #[arg(long, default_value_t = 0.0)]
        rate: f64,
        /// Where the fake Graph API listens (Alfred's GRAPH_API_URL).
        #[arg(long, default_value = "127.0.0.1:18080")]
        graph_addr: SocketAddr,
        /// How long to wait for the last reply after the last webhook.
        #[arg(long, default_value_t = 120)]
        timeout_seconds: u64,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // One thread: the generator must leave the CPU to what it measures.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match &cli.mode {
            Mode::Ingest { seconds, warmup } => ingest(&cli, *seconds, *warmup).await,
            Mode::E2e {
                messages,
                rate,
                graph_addr,
                timeout_seconds,
            } => e2e(&cli, *messages, *rate, *graph_addr, *timeout_seconds).await,
        }
    })
}

fn load(cli: &Cli, limit: Option<u64>, rate: Option<f64>) -> Load {
    let run_id = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos() as u64);
    Load {
        addrs: cli.addr.clone(),
        target: Target {
            // Each connection names its own address (see `client`).
            host: cli
                .addr
                .first()
                .map(ToString::to_string)
                .unwrap_or_default(),
            phone_id: cli.phone_id.clone(),
            secret: cli.secret.clone(),
            senders: cli.senders,
            run_id,
        },
        connections: cli.connections,
        limit,
        rate,
    }
}

async fn timed(load: &Load, seconds: u64) -> anyhow::Result<(client::Totals, Duration)> {
    let stop = Arc::new(AtomicBool::new(false));
    let timer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            stop.store(true, Ordering::Relaxed);
        })
    };
    let result = drive(load, stop, false).await;
    timer.abort();
    result
}

async fn ingest(cli: &Cli, seconds: u64, warmup: u64) -> anyhow::Result<()> {
    if warmup > 0 {
        timed(&load(cli, None, None), warmup).await?;
    }
    let sampler = RssSampler::start(&cli.pid);
    let (mut totals, elapsed) = timed(&load(cli, None, None), seconds).await?;
    let n = totals.latencies_us.len();
    println!(
        "ingest, {} connections{}: {n} requests in {:.2} s = {:.0} requests/s",
        cli.connections,
        over_addresses(cli),
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
    println!("{}", latency_line("latency", &mut totals.latencies_us));
    println!(
        "  statuses: {:?}  connection errors: {}",
        totals.statuses, totals.errors
    );
    print_per_address(cli, &totals);
    print_memory(sampler.as_ref());
    Ok(())
}

async fn e2e(
    cli: &Cli,
    messages: u64,
    rate: f64,
    graph_addr: SocketAddr,
    timeout_seconds: u64,
) -> anyhow::Result<()> {
    let (graph, bound) = graph::FakeGraph::start(graph_addr).await?;
    println!("fake Graph API on http://{bound}");
    let sampler = RssSampler::start(&cli.pid);
    let load = load(cli, Some(messages), (rate > 0.0).then_some(rate));
    let started = Instant::now();
    let (mut totals, sent_in) = drive(&load, Arc::new(AtomicBool::new(false)), true).await?;
    let accepted = totals.ok();
    println!(
        "e2e webhooks{}: {} sent in {:.2} s = {:.0}/s; statuses {:?}; connection errors {}",
        over_addresses(cli),
        totals.latencies_us.len(),
        sent_in.as_secs_f64(),
        totals.latencies_us.len() as f64 / sent_in.as_secs_f64(),
        totals.statuses,
        totals.errors
    );
    print_per_address(cli, &totals);
    println!(
        "{}",
        latency_line("webhook latency", &mut totals.latencies_us)
    );
    let deadline = Instant::now() + Duration::from_secs(timeout_seconds);
    while graph.total() < accepted && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Late duplicates would arrive after the last first reply: give them a moment.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let replies = graph.take();

    let mut duplicates = 0u64;
    let mut answered = 0u64;
    let mut unexpected = 0u64;
    let mut reply_latencies = Vec::with_capacity(totals.accepted.len());
    let mut reply_times = Vec::with_capacity(totals.accepted.len());
    for (n, sent) in &totals.accepted {
        let wamid = Requests::wamid(&load.target, *n);
        if let Some((count, first)) = replies.by_wamid.get(&wamid) {
            answered += 1;
            duplicates += u64::from(count.saturating_sub(1));
            let micros = first.saturating_duration_since(*sent).as_micros();
            reply_latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
            reply_times.push(*first);
        }
    }
    if replies.by_wamid.len() as u64 > answered {
        unexpected = replies.by_wamid.len() as u64 - answered;
    }
    reply_times.sort_unstable();
    let last = reply_times.last().copied().unwrap_or(started);
    let elapsed = last.saturating_duration_since(started).as_secs_f64();
    println!(
        "e2e: {accepted} accepted, {answered} answered in {elapsed:.2} s (first webhook to last reply) = {:.0} messages/s end to end",
        answered as f64 / elapsed.max(1e-9)
    );
    if reply_times.len() >= 10 {
        let (a, b) = (reply_times.len() / 10, reply_times.len() * 9 / 10);
        let window = reply_times[b].saturating_duration_since(reply_times[a]);
        println!(
            "  steady reply rate (10th to 90th percentile reply): {:.0} messages/s",
            (b - a) as f64 / window.as_secs_f64().max(1e-9)
        );
    }
    println!(
        "  exactly once: duplicates {duplicates}, missing {}, replies to unknown messages {unexpected}, malformed sends {}",
        accepted.saturating_sub(answered),
        replies.malformed
    );
    println!(
        "{}",
        latency_line("webhook-to-reply latency", &mut reply_latencies)
    );
    print_memory(sampler.as_ref());
    Ok(())
}

/// ` over N addresses` with several addresses; nothing with one (the output of before).
fn over_addresses(cli: &Cli) -> String {
    match cli.addr.len() {
        0 | 1 => String::new(),
        n => format!(" over {n} addresses"),
    }
}

/// With several addresses, the requests each one answered (round-robin: about equal).
fn print_per_address(cli: &Cli, totals: &client::Totals) {
    if cli.addr.len() < 2 {
        return;
    }
    let counts: Vec<String> = cli
        .addr
        .iter()
        .map(|addr| {
            let answered = totals.per_addr.get(addr).copied().unwrap_or(0);
            format!("{addr} {answered}")
        })
        .collect();
    println!("  answered per address: {}", counts.join(", "));
}

fn print_memory(sampler: Option<&RssSampler>) {
    for line in sampler.map(RssSampler::lines).unwrap_or_default() {
        println!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_addresses_and_pids_are_given_by_commas_or_by_repeating_the_flag() {
        let commas = Cli::try_parse_from([
            "alfred-bench",
            "--addr",
            "127.0.0.1:18000,127.0.0.1:18002",
            "--pid",
            "10,11",
            "ingest",
        ])
        .unwrap();
        let repeated = Cli::try_parse_from([
            "alfred-bench",
            "--addr",
            "127.0.0.1:18000",
            "--addr",
            "127.0.0.1:18002",
            "--pid",
            "10",
            "--pid",
            "11",
            "ingest",
        ])
        .unwrap();
        for cli in [&commas, &repeated] {
            assert_eq!(
                cli.addr,
                vec![
                    "127.0.0.1:18000".parse::<SocketAddr>().unwrap(),
                    "127.0.0.1:18002".parse().unwrap()
                ]
            );
            assert_eq!(cli.pid, vec![10, 11]);
            assert_eq!(over_addresses(cli), " over 2 addresses");
        }
        let single = Cli::try_parse_from(["alfred-bench", "ingest"]).unwrap();
        assert_eq!(single.addr, vec!["127.0.0.1:8000".parse().unwrap()]);
        assert!(single.pid.is_empty());
        assert_eq!(
            over_addresses(&single),
            "",
            "one address: the output of before"
        );
    }
}
