//! `alfred-chaos`: Alfred's chaos suite. Runs N replicas of the `alfred serve` binary on one
//! private Redis (AOF) and one private Postgres, each reached through a TCP fault proxy, with a
//! fake Graph API; sends M signed webhooks from C conversations round-robin over the replicas
//! at a steady rate while it injects faults; then waits until nothing is in flight and judges:
//! every accepted non-poison message answered exactly once, each conversation's replies in
//! order (required with `--require-order`, reported always), every poison message
//! dead-lettered with its reason, nothing stuck. Prints the report (and writes it as JSON with
//! `--json`); exits 1 when the run failed.
//!
//! Layout: [`cluster`] starts and hurts the system, [`load`] sends the messages, [`faults`]
//! schedules the faults, [`mod@check`] judges, [`report`] tells. The design is in
//! `docs/adr/2026-12-02-chaos-suite.md`; `scripts/chaos.sh` runs the full form.

mod check;
mod cluster;
mod faults;
mod load;
mod report;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;

use check::{check, Send};
use cluster::{Cluster, Settings};
use faults::{Fault, Timing};
use load::Plan;
use report::{Leftovers, Report, SlowReply};

#[derive(Parser)]
#[command(
    about = "Alfred's chaos suite: replicas under load and faults; checks exactly-once and order"
)]
struct Cli {
    /// The `alfred` binary to run (the release build for published figures).
    #[arg(long, default_value = "target/release/alfred")]
    alfred: PathBuf,
    #[arg(long, default_value_t = 3)]
    replicas: usize,
    #[arg(long, default_value_t = 10_000)]
    messages: u64,
    #[arg(long, default_value_t = 500)]
    conversations: u64,
    /// Messages per second, all conversations together.
    #[arg(long, default_value_t = 40.0)]
    rate: f64,
    /// The faults, in order, spread evenly over the load (a fault may be named again).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "kill,stop,graph-storm,kill,redis,proxy-latency,postgres,proxy-cut,graph-slow,kill,rolling"
    )]
    faults: Vec<Fault>,
    /// No faults at all (a baseline).
    #[arg(long)]
    no_faults: bool,
    #[arg(long, default_value_t = 1.0)]
    poison_percent: f64,
    /// How long `stop` keeps a replica SIGSTOPped; longer than `--claim-idle-ms`.
    #[arg(long, default_value_t = 35)]
    stop_secs: u64,
    /// How long Redis and Postgres stay down, and half the length of the latency and slow faults.
    #[arg(long, default_value_t = 5)]
    outage_secs: u64,
    /// Alfred's INGEST_CLAIM_IDLE_MS and OUTBOX_CLAIM_IDLE_MS.
    #[arg(long, default_value_t = 30_000)]
    claim_idle_ms: u64,
    /// Alfred's INGEST_PARTITIONS: ingest partitions with one owner each (0: the single
    /// `alfred-ingest` stream, which keeps no order across replicas).
    #[arg(long, default_value_t = 8)]
    partitions: u32,
    /// Alfred's INGEST_LEASE_MS: how long a stopped replica's partitions stay unread.
    #[arg(long, default_value_t = 10_000)]
    lease_ms: u64,
    /// Fail the run when a conversation's replies come out of order.
    #[arg(long)]
    require_order: bool,
    /// How long to wait, after the load, for everything in flight to finish.
    #[arg(long, default_value_t = 300)]
    settle_secs: u64,
    /// Also write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Where the replicas' logs go (kept); default a temporary directory, removed on success.
    #[arg(long)]
    work: Option<PathBuf>,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    let result = runtime
        .context("cannot start the runtime")
        .and_then(|runtime| runtime.block_on(run(cli)));
    match result {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::FAILURE,
        Err(error) => {
            eprintln!("chaos: error: {error:#}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<bool> {
    let keep = cli.work.is_some();
    let work = cli.work.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("alfred-chaos-{}", std::process::id()))
    });
    std::fs::create_dir_all(&work).with_context(|| format!("cannot create {}", work.display()))?;
    eprintln!("chaos: replicas' logs in {}", work.display());
    let mut cluster = Cluster::start(Settings {
        alfred: cli.alfred.clone(),
        replicas: cli.replicas.max(1),
        claim_idle_ms: cli.claim_idle_ms,
        partitions: cli.partitions,
        lease_ms: cli.lease_ms,
        work: work.clone(),
    })
    .await?;
    let plan = Plan {
        messages: cli.messages,
        conversations: cli.conversations.max(1),
        rate: cli.rate,
        poison_percent: cli.poison_percent,
        accept_within: Duration::from_secs(180),
    };
    let span = Duration::from_secs_f64(cli.messages as f64 / cli.rate.max(0.001));
    eprintln!(
        "chaos: {} replicas ready; {} messages from {} conversations at {}/s (~{:.0} s)",
        cluster.replica_count(),
        plan.messages,
        plan.conversations,
        plan.rate,
        span.as_secs_f64()
    );
    let started = Instant::now();
    let load = tokio::spawn(load::run(plan, cluster.webhook_urls()));
    let fault_list = if cli.no_faults {
        Vec::new()
    } else {
        cli.faults.clone()
    };
    let timing = Timing {
        stop: Duration::from_secs(cli.stop_secs),
        outage: Duration::from_secs(cli.outage_secs),
    };
    let windows = faults::inject(&mut cluster, &fault_list, timing, started, span).await?;
    let outcomes = load.await.context("the load stopped")??;
    eprintln!(
        "chaos: load done after {:.0} s; waiting for the system to settle",
        started.elapsed().as_secs_f64()
    );
    let leftovers = settle(&cluster, Duration::from_secs(cli.settle_secs)).await;
    let dead_reasons = dead_letter_reasons(&cluster).await?;
    let sends: Vec<Send> = cluster
        .graph
        .requests()
        .iter()
        .map(|request| Send {
            quoted: request.reply_to().map(str::to_owned),
            at: request.at,
            delivered: request.delivered(),
        })
        .collect();
    cluster.stop_all();
    let findings = check(&outcomes, &sends, &dead_reasons, &windows);
    let mut histories = Vec::new();
    for (wamid, ms) in &findings.slowest {
        match outbox_history(&cluster, wamid).await {
            Ok(rows) => histories.push(SlowReply {
                wamid: wamid.clone(),
                latency_ms: *ms,
                outbox: rows,
            }),
            Err(error) => eprintln!("chaos: cannot read the outbox rows of {wamid}: {error:#}"),
        }
    }
    let mut report = Report::new(
        cluster.replica_count(),
        cli.require_order,
        windows,
        findings,
        leftovers,
    );
    report.slow_replies = histories;
    print!("{}", report.text());
    if let Some(path) = &cli.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if report.passed() && !keep {
        let _ = std::fs::remove_dir_all(&work);
    } else {
        eprintln!("chaos: replicas' logs kept in {}", work.display());
    }
    Ok(report.passed())
}

/// Polls every second until the streams have nothing pending or unread and every outbox row is
/// `sent` or `dead`, three times running, or until `deadline`.
async fn settle(cluster: &Cluster, deadline: Duration) -> Leftovers {
    let until = Instant::now() + deadline;
    let mut quiet = 0;
    let mut last = Leftovers::default();
    while Instant::now() < until {
        match leftovers(cluster).await {
            Ok(now) => {
                let idle =
                    now.ingest_pending + now.ingest_lag + now.outbox_pending + now.outbox_lag == 0
                        && now.outbox_unsent == 0;
                quiet = if idle { quiet + 1 } else { 0 };
                last = now;
                if quiet >= 3 {
                    last.settled = true;
                    return last;
                }
            }
            Err(error) => eprintln!("chaos: cannot read what is in flight yet: {error:#}"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    last
}

async fn leftovers(cluster: &Cluster) -> anyhow::Result<Leftovers> {
    let streams = cluster.admin_get("/admin/streams").await?;
    let mut left = Leftovers::default();
    for stream in streams["streams"].as_array().into_iter().flatten() {
        let pending = stream["pending"].as_u64().unwrap_or(0);
        let lag = stream["lag"].as_u64().unwrap_or(0);
        match stream["stream"].as_str() {
            Some("ingest") => (left.ingest_pending, left.ingest_lag) = (pending, lag),
            Some("outbox") => (left.outbox_pending, left.outbox_lag) = (pending, lag),
            _ => {}
        }
    }
    // Partitioned ingest (the default): what waits on each partition counts as ingest too.
    for partition in streams["partitions"].as_array().into_iter().flatten() {
        left.ingest_pending += partition["pending"].as_u64().unwrap_or(0);
        left.ingest_lag += partition["lag"].as_u64().unwrap_or(0);
    }
    let (client, connection) =
        tokio_postgres::connect(&cluster.database_url(), tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let row = client
        .query_one(
            "SELECT count(*) FILTER (WHERE state NOT IN ('sent', 'dead')),
                    count(*) FILTER (WHERE state = 'dead')
             FROM outbox",
            &[],
        )
        .await?;
    left.outbox_unsent = row.get(0);
    left.outbox_dead = row.get(1);
    Ok(left)
}

/// The outbox rows of the recipient of the reply to `wamid`, oldest first, each as one line:
/// its state and attempts, and when it was created, published, claimed, held and sent, in
/// seconds relative to the creation of the reply to `wamid` (what a slow reply waited for).
async fn outbox_history(cluster: &Cluster, wamid: &str) -> anyhow::Result<Vec<String>> {
    let (client, connection) =
        tokio_postgres::connect(&cluster.database_url(), tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let rows = client
        .query(
            "WITH slow AS (SELECT recipient, created_at FROM outbox WHERE reply_to = $1 \
                           ORDER BY id LIMIT 1) \
             SELECT format('#%s %s%s attempts %s: created %s published %s claimed %s held %s sent %s', \
                        o.id, o.state, CASE WHEN o.reply_to = $1 THEN ' (this reply)' ELSE '' END, \
                        o.attempts, \
                        round(extract(epoch FROM o.created_at - s.created_at)::numeric, 2), \
                        coalesce(round(extract(epoch FROM o.published_at - s.created_at)::numeric, 2)::text, '-'), \
                        coalesce(round(extract(epoch FROM o.claimed_at - s.created_at)::numeric, 2)::text, '-'), \
                        coalesce(round(extract(epoch FROM o.held_at - s.created_at)::numeric, 2)::text, '-'), \
                        coalesce(round(extract(epoch FROM o.sent_at - s.created_at)::numeric, 2)::text, '-')) \
             FROM outbox o JOIN slow s ON o.recipient = s.recipient ORDER BY o.id",
            &[&wamid],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

/// Every reason in `alfred-ingest:dead`, through the admin API, page after page.
async fn dead_letter_reasons(cluster: &Cluster) -> anyhow::Result<Vec<String>> {
    let mut reasons = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let path = match &before {
            Some(cursor) => format!("/admin/dead-letters?stream=ingest&limit=500&before={cursor}"),
            None => "/admin/dead-letters?stream=ingest&limit=500".to_owned(),
        };
        let page = cluster.admin_get(&path).await?;
        for entry in page["entries"].as_array().into_iter().flatten() {
            reasons.push(entry["reason"].as_str().unwrap_or_default().to_owned());
        }
        match page["next"].as_str() {
            Some(next) if !next.is_empty() => before = Some(next.to_owned()),
            _ => return Ok(reasons),
        }
    }
}
