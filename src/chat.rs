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
use alfred_actors::messages::{InboundEnvelope, InboundKind, OutboundEnvelope, Platform, Sender};
use alfred_actors::names;
use alfred_config::Settings;
use anyhow::Context as _;
use async_trait::async_trait;
use tokio::io::AsyncBufReadExt;

use crate::runtime::{ClientFactory, Runtime};

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

/// Runs the console until end of input or `/quit`.
pub async fn run(mut settings: Settings, user: String) -> anyhow::Result<()> {
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
        clients.insert(Platform::Console, Rc::new(console));
        clients
    });
    let ingest = names::key(&settings.redis_key_prefix, names::INGEST_STREAM);
    let runtime = Runtime::start(settings, Vec::new(), clients).await?;
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
