//! `alfred chat`: an interactive console. You type as a family member; Alfred's replies are
//! printed. It runs the same actor system in-process — webhook aside, every message takes the
//! real path: `alfred-ingest`, orchestrator, skill, the exactly-once commit, `alfred-outbox`,
//! the sender — with a console channel client instead of the Graph API.

use std::collections::HashMap;
use std::io::Write as _;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use std::time::{SystemTime, UNIX_EPOCH};

use alfred_actors::channel::{ChannelClient, SendError, SendReceipt};
use alfred_actors::clock::Clock;
use alfred_actors::messages::{InboundEnvelope, InboundKind, OutboundEnvelope, Platform, Sender};
use alfred_actors::names;
use alfred_config::{ClockSetting, Settings};
use anyhow::Context as _;
use async_trait::async_trait;
use tokio::io::AsyncBufReadExt;

use crate::runtime::{ClientFactory, Extras, Runtime};

/// Prints replies to the terminal and counts them.
struct ConsoleClient {
    printed: Arc<AtomicU64>,
}

#[async_trait(?Send)]
impl ChannelClient for ConsoleClient {
    async fn send(&self, message: &OutboundEnvelope) -> Result<SendReceipt, SendError> {
        let text = message.body.display_text();
        let mut out = std::io::stdout().lock();
        let written =
            writeln!(out, "\nalfred> {}", text.replace('\n', "\n        ")).and_then(|_| {
                write!(out, "you> ")?;
                out.flush()
            });
        self.printed.fetch_add(1, Ordering::Relaxed);
        written.map_err(|error| SendError::Retryable {
            reason: format!("stdout: {error}"),
            retry_after: None,
        })?;
        Ok(SendReceipt { provider_id: None })
    }
}

/// Runs the console until end of input or `/quit`. With `simulated_time` it runs on a manual
/// clock that `/time` moves, so a week of chores and briefings can be tried in minutes.
pub async fn run(mut settings: Settings, user: String, simulated_time: bool) -> anyhow::Result<()> {
    if simulated_time {
        settings.clock = ClockSetting::Manual {
            start: chrono::Utc::now(),
        };
    }
    // The console is its own channel: what you type is what you get back, always.
    settings.outbound_enabled = true;
    // Always in memory: a console attached to production streams would consume WhatsApp
    // messages and, having no Graph API client, only print their replies.
    if settings.stores.take().is_some() {
        eprintln!("(alfred chat runs in memory; REDIS_URL and DATABASE_URL are not used)");
    }
    let printed = Arc::new(AtomicU64::new(0));
    let counter = printed.clone();
    let clients: ClientFactory = Arc::new(move || {
        let mut clients: HashMap<Platform, Rc<dyn ChannelClient>> = HashMap::new();
        let console = ConsoleClient {
            printed: counter.clone(),
        };
        // Scheduled messages (briefings, reminders) address WhatsApp chats: print them too.
        let console: Rc<dyn ChannelClient> = Rc::new(console);
        clients.insert(Platform::Console, console.clone());
        clients.insert(Platform::WhatsApp, console);
        clients
    });
    let runtime = Runtime::start(settings, Extras::default(), clients).await?;
    let ingest = names::key(&runtime.prefix, names::INGEST_STREAM);
    println!(
        "Alfred console ({}). You are \"{user}\". Type \"help\", or /quit to leave.",
        runtime.settings.instance
    );
    print!("you> ");
    std::io::stdout().flush().ok();
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    let mut sequence = 0u64;
    while let Some(line) = lines
        .next_line()
        .await
        .context("Failed to read the console input")?
    {
        let text = line.trim();
        if text == "/quit" || text == "/exit" {
            break;
        }
        if text.is_empty() {
            print!("you> ");
            std::io::stdout().flush().ok();
            continue;
        }
        if let Some(command) = text.strip_prefix("/time") {
            println!("{}", move_clock(&runtime, command.trim()));
            print!("you> ");
            std::io::stdout().flush().ok();
            continue;
        }
        sequence += 1;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let envelope = InboundEnvelope {
            platform: Platform::Console,
            message_id: format!("console-{}-{sequence}", now.as_nanos()),
            account: "console".to_owned(),
            conversation: "console".to_owned(),
            is_group: false,
            // The console is one person at a terminal.
            private: true,
            thread: None,
            sender: Sender {
                id: user.clone(),
                name: Some(user.clone()),
            },
            timestamp: i64::try_from(now.as_secs()).unwrap_or_default(),
            kind: InboundKind::Text {
                body: text.to_owned(),
            },
            traceparent: None,
        };
        let payload = serde_json::to_string(&envelope).context("Failed to encode the message")?;
        if let Err(error) = runtime.bus.publish(&ingest, &payload).await {
            println!("(could not hand the message to Alfred: {error})");
        }
    }
    // At the end of piped input, give the replies still on their way a moment to arrive:
    // every text gets one reply.
    let deadline = Instant::now() + Duration::from_secs(10);
    while printed.load(Ordering::Relaxed) < sequence && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!();
    Ok(())
}

/// `/time` shows the clock; `/time +2h`, `/time +1d`, `/time +30m` move it forward; `/time
/// 2026-11-26T07:00:00Z` sets it.
fn move_clock(runtime: &Runtime, command: &str) -> String {
    let Some(clock) = &runtime.manual_clock else {
        return "(the clock is real; start with `alfred chat --simulated-time` to move it)"
            .to_owned();
    };
    if !command.is_empty() {
        let moved = if let Some(step) = command.strip_prefix('+') {
            parse_step(step).filter(|by| clock.advance(*by)).map(|_| ())
        } else {
            chrono::DateTime::parse_from_rfc3339(command)
                .ok()
                .map(|at| clock.set(at.to_utc()))
        };
        if moved.is_none() {
            return "(use /time +30m, +2h, +1d or an RFC 3339 time such as 2026-11-26T07:00:00Z, within the years the clock can hold)"
                .to_owned();
        }
    }
    format!(
        "(it is now {})",
        clock.now().format("%A %Y-%m-%d %H:%M UTC")
    )
}

/// `30m`, `2h`, `1d`.
fn parse_step(step: &str) -> Option<chrono::Duration> {
    let (number, unit) = step.split_at(step.len().checked_sub(1)?);
    let number: i64 = number.parse().ok()?;
    match unit {
        "m" => chrono::Duration::try_minutes(number),
        "h" => chrono::Duration::try_hours(number),
        "d" => chrono::Duration::try_days(number),
        _ => None,
    }
}
