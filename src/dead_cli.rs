//! `alfred dead list|show|replay|discard|audit`: the dead letters from a terminal, on the same
//! service as the admin API (`alfred_actors::dead_letters`). It talks to Redis and Postgres
//! from the settings (REDIS_URL, DATABASE_URL, REDIS_KEY_PREFIX, INSTANCE) directly, so it
//! works while the server is down. Replays and discards are audited as `cli as {USER}@{HOST}`.

use std::sync::Arc;

use alfred_actors::dead_letters::{
    parse_time, Action, DeadLetters, DeadStream, Filter, ListQuery, Selection,
};
use alfred_actors::names;
use alfred_config::{ExposeSecret, Settings};
use anyhow::Context as _;
use clap::{Args, Subcommand};

/// The `dead` subcommands. STREAM is `ingest` or `outbox`.
#[derive(Subcommand)]
pub enum DeadCommand {
    /// List dead letters, newest first: id, time, deliveries, conversation, reason.
    List {
        /// `ingest` or `outbox`.
        stream: String,
        #[command(flatten)]
        filter: FilterArgs,
        /// Start before this id (the `next` a previous page printed).
        #[arg(long)]
        before: Option<String>,
        /// Entries to show.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print the page as JSON (with previews).
        #[arg(long)]
        json: bool,
    },
    /// Show one dead letter whole, secrets removed.
    Show { stream: String, id: String },
    /// Replay dead letters: the ids given, or all that match the filter.
    Replay {
        stream: String,
        ids: Vec<String>,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// Discard dead letters (kept in the audit log): the ids given, or all that match.
    Discard {
        stream: String,
        ids: Vec<String>,
        #[command(flatten)]
        filter: FilterArgs,
    },
    /// The latest replays and discards, newest first.
    Audit {
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

/// Which dead letters, by reason and time.
#[derive(Args)]
pub struct FilterArgs {
    /// Only those whose reason contains this (any case).
    #[arg(long)]
    reason: Option<String>,
    /// Only those dead-lettered at or after this RFC 3339 time.
    #[arg(long)]
    since: Option<String>,
    /// Only those dead-lettered at or before this RFC 3339 time.
    #[arg(long)]
    until: Option<String>,
}

impl FilterArgs {
    fn filter(&self) -> anyhow::Result<Filter> {
        let time = |name: &str, text: &Option<String>| {
            text.as_deref()
                .map(|text| parse_time(name, text))
                .transpose()
        };
        Ok(Filter {
            reason: self.reason.clone(),
            since: time("--since", &self.since)?,
            until: time("--until", &self.until)?,
        })
    }
}

/// Runs a `dead` subcommand.
pub async fn run(settings: Settings, command: DeadCommand) -> anyhow::Result<()> {
    let service = connect(&settings).await?;
    let actor = who();
    match command {
        DeadCommand::List {
            stream,
            filter,
            before,
            limit,
            json,
        } => {
            let query = ListQuery {
                filter: filter.filter()?,
                before,
                limit: Some(limit),
            };
            let page = service.list(DeadStream::parse(&stream)?, &query).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&page)?);
                return Ok(());
            }
            if page.entries.is_empty() {
                println!("No dead letters.");
            }
            for entry in &page.entries {
                let field = |name: &str| match &entry[name] {
                    serde_json::Value::Null => "-".to_owned(),
                    serde_json::Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                println!(
                    "{}  {}  deliveries={}  {}  {}",
                    field("id"),
                    field("at"),
                    field("deliveries"),
                    field("conversation"),
                    field("reason")
                );
            }
            if let Some(next) = page.next {
                println!("More: --before {next}");
            }
        }
        DeadCommand::Show { stream, id } => {
            let entry = service.show(DeadStream::parse(&stream)?, &id).await?;
            println!("{}", serde_json::to_string_pretty(&entry.detail())?);
        }
        DeadCommand::Replay {
            stream,
            ids,
            filter,
        } => act(&service, &stream, ids, &filter, &actor, Action::Replay).await?,
        DeadCommand::Discard {
            stream,
            ids,
            filter,
        } => act(&service, &stream, ids, &filter, &actor, Action::Discard).await?,
        DeadCommand::Audit { limit } => {
            for record in service.audit_log(limit).await? {
                println!(
                    "{}  {}  {} {} {}  {}",
                    record.at.to_rfc3339(),
                    record.actor,
                    record.action,
                    record.stream,
                    record.entry_id,
                    record.outcome
                );
            }
        }
    }
    Ok(())
}

/// Replays or discards one dead letter, or the ids given, or those the filter matches.
async fn act(
    service: &DeadLetters,
    stream: &str,
    ids: Vec<String>,
    filter: &FilterArgs,
    actor: &str,
    action: Action,
) -> anyhow::Result<()> {
    let stream = DeadStream::parse(stream)?;
    if let [id] = ids.as_slice() {
        print_done(&service.act(stream, id, actor, action).await?);
        return Ok(());
    }
    let selection = selection(ids, filter)?;
    print_bulk(
        &service
            .act_on_selection(stream, &selection, actor, action)
            .await?,
    );
    Ok(())
}

/// The ids given, or the filter; the same checks as the admin API's bulk body.
fn selection(ids: Vec<String>, filter: &FilterArgs) -> anyhow::Result<Selection> {
    let ids = (!ids.is_empty()).then_some(ids);
    Ok(Selection::new(ids, filter.filter()?)?)
}

fn print_done(done: &alfred_actors::dead_letters::Done) {
    match &done.new_id {
        Some(new_id) => println!("{}: {} as {new_id}", done.id, done.outcome),
        None => println!("{}: {}", done.id, done.outcome),
    }
}

fn print_bulk(bulk: &alfred_actors::dead_letters::Bulk) {
    let outcomes: Vec<String> = bulk
        .outcomes
        .iter()
        .map(|(outcome, count)| format!("{outcome}={count}"))
        .collect();
    println!("matched={} {}", bulk.matched, outcomes.join(" "));
    for error in &bulk.errors {
        println!("{}: {}", error.id, error.error);
    }
}

/// Who runs the command, for the audit log.
fn who() -> String {
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned());
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "unknown-host".to_owned());
    format!("cli as {user}@{host}")
}

/// The service on the settings' Redis and Postgres (migrated, so the audit log exists).
async fn connect(settings: &Settings) -> anyhow::Result<DeadLetters> {
    let stores = settings
        .stores
        .as_ref()
        .context("REDIS_URL and DATABASE_URL must be set: dead letters live there")?;
    let bus = crate::redis_tls::connect_redis(settings, stores.redis_url.expose_secret()).await?;
    let store = crate::stores::connect_postgres(stores).await?;
    alfred_actors::store::migrate::migrate(store.pool())
        .await
        .context("Failed to apply migrations")?;
    let prefix = names::instance_prefix(&settings.redis_key_prefix, settings.instance.as_str());
    Ok(DeadLetters::new(
        Arc::new(bus),
        Arc::new(store),
        prefix,
        settings.tuning.ingest_partitions,
    ))
}
