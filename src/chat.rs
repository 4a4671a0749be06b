//! `alfred chat`: an interactive console. You type as a family member; Alfred's replies are
//! printed. It runs the same actor system in-process — webhook aside, every message takes the
//! real path: the ingest stream, orchestrator, skill, the exactly-once commit, `alfred-outbox`,
//! the sender — with a console channel client instead of the Graph API.
//!
//! The playground ([`crate::playground`]) is the same in a browser; both share what makes a
//! local chat: who a typed name speaks as ([`LocalSpeaker`]), the channel clients that keep
//! replies in the process ([`local_clients`]) and the hand-over to the ingest stream of the
//! message's conversation ([`hand_over`]).

use std::collections::HashMap;
use std::io::Write as _;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use std::time::{SystemTime, UNIX_EPOCH};

use alfred_actors::bus::Bus;
use alfred_actors::channel::{ChannelClient, SendError, SendReceipt};
use alfred_actors::clock::Clock;
use alfred_actors::messages::{InboundEnvelope, InboundKind, OutboundEnvelope, Platform, Sender};
use alfred_actors::partitions::IngestRoute;
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
        // Their default partitions came with them: one process on the memory bus keeps order.
        settings.tuning.ingest_partitions = 0;
    }
    let printed = Arc::new(AtomicU64::new(0));
    let counter = printed.clone();
    let clients: ClientFactory = Arc::new(move || {
        local_clients(Rc::new(ConsoleClient {
            printed: counter.clone(),
        }))
    });
    let extras = Extras {
        local_chats: true,
        ..Extras::default()
    };
    let runtime = Runtime::start(settings, extras, clients).await?;
    let speaker = LocalSpeaker::named(&runtime.settings, &user, CONSOLE_CONVERSATION);
    println!(
        "Alfred console ({}). You are \"{}\"{}. Type \"help\", or /quit to leave.",
        runtime.settings.instance,
        speaker.name(),
        speaker.household_note(),
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
        if let Err(error) = hand_over(
            runtime.bus.as_ref(),
            &runtime.ingest_route(),
            &speaker.says(text),
        )
        .await
        {
            println!("(could not hand the message to Alfred: {error:#})");
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

/// The console's conversation: every `alfred chat` user talks in it.
const CONSOLE_CONVERSATION: &str = "console";

/// The channel clients of a process whose chats are answered locally: `client` takes the
/// console's replies and, since briefings and reminders address WhatsApp chats (and a member
/// speaks in their own WhatsApp chat, see [`LocalSpeaker`]), WhatsApp's too — never the
/// Graph API.
pub fn local_clients(client: Rc<dyn ChannelClient>) -> HashMap<Platform, Rc<dyn ChannelClient>> {
    let mut clients: HashMap<Platform, Rc<dyn ChannelClient>> = HashMap::new();
    clients.insert(Platform::Console, client.clone());
    clients.insert(Platform::WhatsApp, client);
    clients
}

/// Puts a locally typed message where the edges would put it ([`Runtime::ingest_route`]: its
/// conversation's partition, or the single `alfred-ingest`), where it takes the path of any
/// other.
pub async fn hand_over(
    bus: &dyn Bus,
    route: &IngestRoute,
    envelope: &InboundEnvelope,
) -> anyhow::Result<()> {
    let ingest = route.stream_for(envelope.platform, &envelope.conversation);
    let payload = serde_json::to_string(envelope).context("Failed to encode the message")?;
    bus.publish(&ingest, &payload)
        .await
        .context("The bus did not take the message")?;
    Ok(())
}

/// Who a locally typed message (the console, the playground) comes from, and where.
///
/// A name that is a member of a household in `HOUSEHOLDS_FILE`, with a WhatsApp number,
/// speaks as that member in their own direct chat: the household's list, chores and
/// briefings, as if from their phone. Any other name is a console user, in a conversation of
/// its own (its own household), trusted like the terminal it is typed at.
#[derive(Debug, Clone)]
pub struct LocalSpeaker {
    platform: Platform,
    account: String,
    conversation: String,
    sender: Sender,
    /// The member's household's name, when the speaker is a member.
    household: Option<String>,
}

impl LocalSpeaker {
    /// `name`, as a member of a household when the households file has one by that name
    /// (in any case), else as a console user in `conversation`.
    pub fn named(settings: &Settings, name: &str, conversation: &str) -> LocalSpeaker {
        let name = name.trim();
        let member = settings.households.iter().find_map(|household| {
            household
                .members
                .iter()
                .find(|m| m.name.eq_ignore_ascii_case(name))
                .and_then(|m| Some((household, m, m.whatsapp.clone()?)))
        });
        match member {
            Some((household, member, number)) => LocalSpeaker {
                platform: Platform::WhatsApp,
                account: settings.whatsapp.as_ref().map_or_else(
                    || crate::jobs::LOCAL_ACCOUNT.to_owned(),
                    |whatsapp| whatsapp.phone_id.clone(),
                ),
                conversation: number.clone(),
                sender: Sender {
                    id: number,
                    name: Some(member.name.clone()),
                },
                household: Some(household.name.clone()),
            },
            None => LocalSpeaker {
                platform: Platform::Console,
                account: "console".to_owned(),
                conversation: conversation.to_owned(),
                sender: Sender {
                    id: name.to_owned(),
                    name: Some(name.to_owned()),
                },
                household: None,
            },
        }
    }

    /// The name the speaker goes by.
    pub fn name(&self) -> &str {
        self.sender.name.as_deref().unwrap_or(&self.sender.id)
    }

    /// The household the speaker is a member of, when they are one.
    pub fn household(&self) -> Option<&str> {
        self.household.as_deref()
    }

    /// `" (The Smiths)"` for a member, nothing for a console user.
    fn household_note(&self) -> String {
        self.household
            .as_ref()
            .map(|name| format!(" ({name})"))
            .unwrap_or_default()
    }

    /// `text` from this speaker, now, under a message id no other message has.
    pub fn says(&self, text: &str) -> InboundEnvelope {
        static SEQUENCE: AtomicU64 = AtomicU64::new(0);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let sequence = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        InboundEnvelope {
            platform: self.platform,
            message_id: format!("local-{}-{sequence}", now.as_nanos()),
            account: self.account.clone(),
            conversation: self.conversation.clone(),
            is_group: false,
            // One person at a terminal, or at the playground's page.
            private: true,
            thread: None,
            sender: self.sender.clone(),
            timestamp: i64::try_from(now.as_secs()).unwrap_or_default(),
            kind: InboundKind::Text {
                body: text.to_owned(),
            },
            traceparent: None,
        }
    }
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
