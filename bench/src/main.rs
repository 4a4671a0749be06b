//! `alfred-bench`: drives Alfred's WhatsApp webhook with realistic, distinct, signed payloads.
//!
//! * `ingest` — as many webhooks as `--connections` keep-alive connections can push for
//!   `--seconds`; reports requests/s and latency percentiles. Each request carries a new wamid,
//!   so every one is a real message that Alfred stores.
//! * `e2e` — starts a fake Graph API on `--graph-port` (point Alfred's `GRAPH_API_URL` at it),
//!   sends `--messages` webhooks and waits for every reply; reports messages/s end to end and
//!   checks that each message was answered exactly once.
//! * `--pid` samples the resident memory (VmRSS, and the peak VmHWM) of the Alfred process.
//!
//! The HTTP client is a minimal HTTP/1.1 keep-alive writer over raw TCP, so that the load
//! generator costs as little CPU as possible on the same 2-core box as Alfred.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use alfred_testkit::whatsapp::{sign, text_message};
use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[derive(Parser)]
#[command(about = "Load generator for Alfred's WhatsApp webhook")]
struct Cli {
    /// Alfred's public address.
    #[arg(long, default_value = "127.0.0.1:8000")]
    addr: SocketAddr,
    /// Alfred's APP_SECRET.
    #[arg(long, default_value = "bench-app-secret")]
    secret: String,
    /// Alfred's PHONE_ID.
    #[arg(long, default_value = "100000000001")]
    phone_id: String,
    /// Keep-alive connections.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Alfred's process id, to report its resident memory.
    #[arg(long)]
    pid: Option<u32>,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Webhook ingest throughput and latency.
    Ingest {
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Distinct senders the messages come from.
        #[arg(long, default_value_t = 1000)]
        senders: usize,
    },
    /// Webhook to reply at the fake Graph API.
    E2e {
        #[arg(long, default_value_t = 50_000)]
        messages: usize,
        #[arg(long, default_value_t = 18_080)]
        graph_port: u16,
        #[arg(long, default_value_t = 1000)]
        senders: usize,
        /// How long to wait for the last reply.
        #[arg(long, default_value_t = 120)]
        timeout_seconds: u64,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    match &cli.mode {
        Mode::Ingest { seconds, senders } => runtime.block_on(ingest(&cli, *seconds, *senders)),
        Mode::E2e {
            messages,
            graph_port,
            senders,
            timeout_seconds,
        } => actix_rt::System::new().block_on(e2e(
            &cli,
            *messages,
            *graph_port,
            *senders,
            *timeout_seconds,
        )),
    }
}

/// What every request shares.
#[derive(Clone)]
struct Target {
    addr: SocketAddr,
    phone_id: String,
    secret: String,
    senders: usize,
}

/// A signed `POST /webhook` request for message number `n`.
fn request(cli: &Target, n: u64) -> Vec<u8> {
    let senders = cli.senders.max(1);
    let from = format!("4915{:08}", n % senders as u64);
    let wamid = format!("wamid.BENCH{:016x}{n:012}", std::process::id());
    let text = match n % 4 {
        0 => format!("add {} kg apples", n % 5 + 1),
        1 => "add milk, eggs and bread".to_owned(),
        2 => format!("add item{}", n % 97),
        _ => "list".to_owned(),
    };
    let body = text_message(&cli.phone_id, &from, "Bench", &wamid, &text);
    let signature = sign(&cli.secret, body.as_bytes());
    format!(
        "POST /webhook HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\nx-hub-signature-256: {signature}\r\ncontent-length: {}\r\n\r\n{body}",
        cli.addr,
        body.len()
    )
    .into_bytes()
}

/// Sends one request on a keep-alive connection and reads the whole response; returns the status.
async fn round_trip(
    stream: &mut TcpStream,
    request: &[u8],
    buffer: &mut Vec<u8>,
) -> anyhow::Result<u16> {
    stream.write_all(request).await?;
    buffer.clear();
    loop {
        let mut chunk = [0u8; 4096];
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
        let length: usize = head
            .lines()
            .find_map(|line| {
                let (name, value) = line.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .unwrap_or(0);
        if buffer.len() >= head_end + 4 + length {
            return Ok(status);
        }
    }
}

#[derive(Default)]
struct Totals {
    latencies_us: Vec<u32>,
    statuses: HashMap<u16, u64>,
    errors: u64,
}

/// Runs `connections` workers; each sends requests numbered by a shared counter until `stop`.
async fn drive(
    cli: &Cli,
    senders: usize,
    limit: Option<u64>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<(Totals, Duration)> {
    let counter = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..cli.connections {
        let counter = counter.clone();
        let stop = stop.clone();
        let addr = cli.addr;
        let target = Target {
            addr,
            phone_id: cli.phone_id.clone(),
            secret: cli.secret.clone(),
            senders,
        };
        workers.push(tokio::spawn(async move {
            let mut totals = Totals::default();
            let mut stream = TcpStream::connect(addr).await?;
            stream.set_nodelay(true)?;
            let mut buffer = Vec::with_capacity(1024);
            while !stop.load(Ordering::Relaxed) {
                let n = counter.fetch_add(1, Ordering::Relaxed);
                if limit.is_some_and(|limit| n >= limit) {
                    break;
                }
                let request = request(&target, n);
                let sent = Instant::now();
                match round_trip(&mut stream, &request, &mut buffer).await {
                    Ok(status) => {
                        totals
                            .latencies_us
                            .push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                        *totals.statuses.entry(status).or_default() += 1;
                    }
                    Err(_) => {
                        totals.errors += 1;
                        stream = TcpStream::connect(addr).await?;
                        stream.set_nodelay(true)?;
                    }
                }
            }
            anyhow::Ok(totals)
        }));
    }
    let mut all = Totals::default();
    for worker in workers {
        let totals = worker.await??;
        all.latencies_us.extend(totals.latencies_us);
        all.errors += totals.errors;
        for (status, count) in totals.statuses {
            *all.statuses.entry(status).or_default() += count;
        }
    }
    Ok((all, started.elapsed()))
}

fn report(label: &str, totals: &mut Totals, elapsed: Duration) {
    totals.latencies_us.sort_unstable();
    let n = totals.latencies_us.len();
    let pct = |p: f64| -> f64 {
        if n == 0 {
            return 0.0;
        }
        let index = ((n as f64 * p).ceil() as usize).clamp(1, n) - 1;
        f64::from(totals.latencies_us[index]) / 1000.0
    };
    println!(
        "{label}: {n} requests in {:.2} s = {:.0} requests/s",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        pct(0.50),
        pct(0.90),
        pct(0.99),
        pct(1.0)
    );
    println!(
        "  statuses: {:?}  connection errors: {}",
        totals.statuses, totals.errors
    );
}

fn memory(pid: Option<u32>) {
    let Some(pid) = pid else { return };
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return;
    };
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .map(|l| l.trim_start_matches(name).trim().to_owned())
    };
    println!(
        "  alfred memory: VmRSS {}  peak VmHWM {}",
        field("VmRSS:").unwrap_or_default(),
        field("VmHWM:").unwrap_or_default()
    );
}

async fn ingest(cli: &Cli, seconds: u64, senders: usize) -> anyhow::Result<()> {
    let stop = Arc::new(AtomicBool::new(false));
    let timer = {
        let stop = stop.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(seconds)).await;
            stop.store(true, Ordering::Relaxed);
        })
    };
    let (mut totals, elapsed) = drive(cli, senders, None, stop).await?;
    timer.abort();
    report(
        &format!("ingest, {} connections", cli.connections),
        &mut totals,
        elapsed,
    );
    memory(cli.pid);
    Ok(())
}

async fn e2e(
    cli: &Cli,
    messages: usize,
    graph_port: u16,
    senders: usize,
    timeout_seconds: u64,
) -> anyhow::Result<()> {
    let graph = alfred_testkit::graph::FakeGraph::start_on(graph_port).await;
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let (mut totals, sent_in) = drive(cli, senders, Some(messages as u64), stop).await?;
    report("e2e webhooks", &mut totals, sent_in);
    let accepted = totals.statuses.get(&200).copied().unwrap_or(0) as usize;
    let deadline = Instant::now() + Duration::from_secs(timeout_seconds);
    while graph.request_count() < accepted && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = started.elapsed();
    let requests = graph.requests();
    let mut per_message: HashMap<String, usize> = HashMap::new();
    for request in &requests {
        if let Some(id) = request.reply_to() {
            *per_message.entry(id.to_owned()).or_default() += 1;
        }
    }
    let duplicates = per_message.values().filter(|&&count| count > 1).count();
    println!(
        "e2e: {accepted} accepted, {} replied ({} distinct) in {:.2} s = {:.0} messages/s end to end; duplicates {duplicates}; missing {}",
        requests.len(),
        per_message.len(),
        elapsed.as_secs_f64(),
        per_message.len() as f64 / elapsed.as_secs_f64(),
        accepted.saturating_sub(per_message.len()),
    );
    memory(cli.pid);
    Ok(())
}
