//! The typed settings and their documented defaults.
//!
//! Optional features are grouped so that "configured" is one `Option`: WhatsApp, Slack, the LLM
//! and the durable stores are either fully configured or absent, never half set.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;

/// Defaults for every variable that has one. `.env.template` repeats them for operators.
pub mod defaults {
    /// `INSTANCE` when unset: a newcomer's `cargo run` is the family assistant.
    pub const INSTANCE: super::Instance = super::Instance::Home;
    /// `HTTP_ADDR`: all interfaces, as a container needs.
    pub const HTTP_ADDR: &str = "0.0.0.0:8000";
    /// `ADMIN_ADDR`: loopback only, so the admin API is never public by accident.
    pub const ADMIN_ADDR: &str = "127.0.0.1:8001";
    /// `GRAPH_API_URL`.
    pub const GRAPH_API_URL: &str = "https://graph.facebook.com";
    /// `GRAPH_API_VERSION`.
    pub const GRAPH_API_VERSION: &str = "v21.0";
    /// `SLACK_API_URL`.
    pub const SLACK_API_URL: &str = "https://slack.com/api";
    /// `OPENAI_BASE_URL`.
    pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
    /// `LLM_MODEL` when the LLM is Ollama.
    pub const OLLAMA_MODEL: &str = "llama3.2";
    /// `LLM_MODEL` when the LLM is OpenAI (or an OpenAI-compatible server).
    pub const OPENAI_MODEL: &str = "gpt-4o-mini";
    /// `LLM_TIMEOUT_MS`: how long one LLM request may take before the user gets help instead.
    pub const LLM_TIMEOUT_MS: u64 = 8_000;
    /// `TRANSCRIBE_MODEL`: OpenAI's Whisper; local servers take their own names.
    pub const TRANSCRIBE_MODEL: &str = "whisper-1";
    /// `TRANSCRIBE_MAX_BYTES`: the largest voice note downloaded (5 MiB: an Opus voice note
    /// of several minutes; a larger one is refused by its announced size, or while read).
    pub const TRANSCRIBE_MAX_BYTES: usize = 5 * 1024 * 1024;
    /// `TRANSCRIBE_TIMEOUT_MS`: download and transcription of one voice note together.
    pub const TRANSCRIBE_TIMEOUT_MS: u64 = 15_000;
    /// `OUTBOUND_ENABLED`.
    pub const OUTBOUND_ENABLED: bool = true;
    /// `WEBHOOK_BODY_LIMIT` in bytes (1 MiB; Meta's batches are far smaller).
    pub const WEBHOOK_BODY_LIMIT: usize = 1_048_576;
    /// `INGEST_READERS`: consumers in the ingest group in this process. One keeps each
    /// conversation's messages in order: two readers hand their entries to the orchestrator
    /// independently, so a later message could overtake an earlier one read by the other.
    pub const INGEST_READERS: usize = 1;
    /// `INGEST_PARTITIONS` when Redis and Postgres are configured: `N` partition streams, each
    /// read by one replica at a time under a lease with a fencing token, so that any number of
    /// replicas keeps each conversation in order. Eight spreads a conversation load over up to
    /// eight replicas (a partition is the unit of balance: more replicas than partitions would
    /// idle) while each replica holds few leases (renewed every third of the lease, one Redis
    /// call each) and each partition reader still gets full batches. It can never be changed
    /// once replicas run on it without draining (the placement depends on it), so it is fixed
    /// generously. `0` is the single `alfred-ingest` stream of before (the rollback).
    pub const INGEST_PARTITIONS: u32 = 8;
    /// `INGEST_LEASE_MS`: the TTL of a partition lease and of a replica's heartbeat; a dead
    /// replica's partitions move within about this long.
    pub const INGEST_LEASE_MS: u64 = 10_000;
    /// `INGEST_BATCH`: entries per `XREADGROUP`.
    pub const INGEST_BATCH: usize = 100;
    /// `INGEST_CLAIM_IDLE_MS`: idle time after which a dead consumer's entry is claimed; longer
    /// than the slowest handler.
    pub const INGEST_CLAIM_IDLE_MS: u64 = 30_000;
    /// `INGEST_MAX_DELIVERIES`: deliveries before an entry is dead-lettered.
    pub const INGEST_MAX_DELIVERIES: u32 = 5;
    /// `OUTBOX_BATCH`: entries per `XREADGROUP` of the outbox reader; as for ingest.
    pub const OUTBOX_BATCH: usize = INGEST_BATCH;
    /// `OUTBOX_CLAIM_IDLE_MS`: idle time after which a dead consumer's outbox entry is claimed;
    /// longer than the slowest send (the sender's claim of the row keeps a duplicate from
    /// sending twice either way). As for ingest.
    pub const OUTBOX_CLAIM_IDLE_MS: u64 = INGEST_CLAIM_IDLE_MS;
    /// `OUTBOX_MAX_DELIVERIES`: deliveries before an outbox entry is dead-lettered; as for
    /// ingest.
    pub const OUTBOX_MAX_DELIVERIES: u32 = INGEST_MAX_DELIVERIES;
    /// `OUTBOUND_MAX_ATTEMPTS`: send attempts before a reply is dead-lettered.
    pub const OUTBOUND_MAX_ATTEMPTS: u32 = 8;
    /// `OUTBOUND_TIMEOUT_MS`: one HTTP send.
    pub const OUTBOUND_TIMEOUT_MS: u64 = 10_000;
    /// `RELAY_INTERVAL_MS`: how often committed but unpublished outbox rows are looked for.
    pub const RELAY_INTERVAL_MS: u64 = 1_000;
    /// `OUTBOUND_CLAIM_LEASE_MS`: how long a reply claimed by a sender that then died waits
    /// before it is sent again — long enough for the platform's status callback to prove it
    /// was already delivered.
    pub const OUTBOUND_CLAIM_LEASE_MS: u64 = 60_000;
    /// `DEFAULT_TIMEZONE`.
    pub const DEFAULT_TIMEZONE: chrono_tz::Tz = chrono_tz::Tz::UTC;
    /// `INVOKE_PREFIXES`, comma-separated. A prefix matches at the start of a message when the
    /// next character is not a letter or digit, and punctuation after it (`:`, `,`) is
    /// dropped too, so `alfred` matches "Alfred, add milk" and "alfred: list" but not "alfredo".
    pub const INVOKE_PREFIXES: &[&str] = &["@alfred", "alfred"];
    /// The shortest `ADMIN_API_KEY` accepted: a short key can be guessed.
    pub const ADMIN_API_KEY_MIN_CHARS: usize = 16;
    /// `RETENTION_DAYS`: handled inbox keys and sent replies older than this are purged. At
    /// least [`RETENTION_DAYS_MIN`]: Meta retries an unacknowledged webhook for up to 7 days, and
    /// the inbox must still know the message then.
    pub const RETENTION_DAYS: u64 = 30;
    /// The shortest `RETENTION_DAYS` accepted.
    pub const RETENTION_DAYS_MIN: u64 = 7;
    /// `JANITOR_INTERVAL_MS`: how often handled stream entries are trimmed and old rows purged.
    pub const JANITOR_INTERVAL_MS: u64 = 3_600_000;
    /// `STALE_CONSUMER_IDLE_MS`: how long a stream consumer with nothing pending (a former
    /// replica's) may stay idle before the janitor removes it from its group: an hour.
    pub const STALE_CONSUMER_IDLE_MS: u64 = 3_600_000;
    /// `IMAP_PORT` with `IMAP_TLS=implicit`: IMAP over implicit TLS.
    pub const IMAP_PORT: u16 = 993;
    /// `IMAP_PORT` with `IMAP_TLS=starttls`.
    pub const IMAP_STARTTLS_PORT: u16 = 143;
    /// `IMAP_MAILBOX`.
    pub const IMAP_MAILBOX: &str = "INBOX";
    /// `IMAP_POLL_INTERVAL_MS`: how often the work inbox is read.
    pub const IMAP_POLL_INTERVAL_MS: u64 = 60_000;
    /// `IMAP_TIMEOUT_MS`: the longest one IMAP poll (connect, log in, fetch) may take.
    pub const IMAP_TIMEOUT_MS: u64 = 30_000;
    /// `SENDER_RATE_PER_MINUTE`: messages one sender may send Alfred per minute, sustained.
    /// Generous for a family: nobody types that fast, a script or a stuck client does.
    pub const SENDER_RATE_PER_MINUTE: u32 = 30;
    /// `SENDER_BURST`: messages one sender may send at once before the rate applies (a
    /// shopping list typed as fifteen quick messages still goes through).
    pub const SENDER_BURST: u32 = 15;
    /// `LLM_DAILY_BUDGET`: plain-language messages of one sender put to the LLM per day (UTC).
    pub const LLM_DAILY_BUDGET: u32 = 200;
    /// `MAX_TEXT_CHARS`: the longest text Alfred reads, in characters (WhatsApp's own limit).
    pub const MAX_TEXT_CHARS: u32 = 4_096;
}

/// Every variable this crate reads (secrets may also be given as `NAME_FILE`).
pub const VARIABLES: &[&str] = &[
    "INSTANCE",
    "HTTP_ADDR",
    "ADMIN_ADDR",
    "ADMIN_API_KEY",
    "ADMIN_READONLY_KEY",
    "REDIS_URL",
    "DATABASE_URL",
    "DATABASE_STATEMENT_CACHE",
    "REDIS_KEY_PREFIX",
    "REDIS_CA_FILE",
    "REDIS_CLIENT_CERT_FILE",
    "REDIS_CLIENT_KEY_FILE",
    "META_TOKEN",
    "PHONE_ID",
    "VERIFY_TOKEN",
    "APP_SECRET",
    "GRAPH_API_URL",
    "GRAPH_API_VERSION",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_API_URL",
    "SLACK_APP_TOKEN",
    "OLLAMA_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "LLM_MODEL",
    "LLM_TIMEOUT_MS",
    "TRANSCRIBE_URL",
    "TRANSCRIBE_API_KEY",
    "TRANSCRIBE_MODEL",
    "TRANSCRIBE_MAX_BYTES",
    "TRANSCRIBE_TIMEOUT_MS",
    "OUTBOUND_ENABLED",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "LOG_FORMAT",
    "WEBHOOK_BODY_LIMIT",
    "INGEST_READERS",
    "INGEST_PARTITIONS",
    "INGEST_LEASE_MS",
    "INGEST_BATCH",
    "INGEST_CLAIM_IDLE_MS",
    "INGEST_MAX_DELIVERIES",
    "OUTBOX_BATCH",
    "OUTBOX_CLAIM_IDLE_MS",
    "OUTBOX_MAX_DELIVERIES",
    "OUTBOUND_MAX_ATTEMPTS",
    "OUTBOUND_TIMEOUT_MS",
    "RELAY_INTERVAL_MS",
    "OUTBOUND_CLAIM_LEASE_MS",
    "RETENTION_DAYS",
    "JANITOR_INTERVAL_MS",
    "STALE_CONSUMER_IDLE_MS",
    "HOSTNAME",
    "HOUSEHOLDS_FILE",
    "DEFAULT_TIMEZONE",
    "INVOKE_PREFIXES",
    "CLOCK",
    "CLOCK_START",
    "IMAP_HOST",
    "IMAP_PORT",
    "IMAP_TLS",
    "IMAP_USER",
    "IMAP_PASSWORD",
    "IMAP_MAILBOX",
    "IMAP_CA_FILE",
    "IMAP_POLL_INTERVAL_MS",
    "IMAP_TIMEOUT_MS",
    "INBOX_READERS",
    "SENDER_RATE_PER_MINUTE",
    "SENDER_BURST",
    "LLM_DAILY_BUDGET",
    "MAX_TEXT_CHARS",
    "STRANGERS",
    "SLACK_TEAM_IDS",
    "CRM_READERS",
];

/// Settings only the Home instance reads: `INSTANCE=biz` refuses them (and their `_FILE` forms),
/// so a family's households never end up in the business deployment by a copied `.env`.
pub const HOME_ONLY: &[&str] = &["HOUSEHOLDS_FILE", "STRANGERS"];

/// Settings only the Biz instance reads: `INSTANCE=home` refuses them (and their `_FILE` forms),
/// so the business's Slack credentials never reach the family deployment.
pub const BIZ_ONLY: &[&str] = &[
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_API_URL",
    "SLACK_APP_TOKEN",
    "IMAP_HOST",
    "IMAP_PORT",
    "IMAP_TLS",
    "IMAP_USER",
    "IMAP_PASSWORD",
    "IMAP_MAILBOX",
    "IMAP_CA_FILE",
    "IMAP_POLL_INTERVAL_MS",
    "IMAP_TIMEOUT_MS",
    "INBOX_READERS",
    "SLACK_TEAM_IDS",
    "CRM_READERS",
];

/// The variables that hold secrets and so also accept `NAME_FILE`.
pub const SECRET_VARIABLES: &[&str] = &[
    "ADMIN_API_KEY",
    "ADMIN_READONLY_KEY",
    "REDIS_URL",
    "DATABASE_URL",
    "META_TOKEN",
    "VERIFY_TOKEN",
    "APP_SECRET",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "OPENAI_API_KEY",
    "TRANSCRIBE_API_KEY",
    "IMAP_PASSWORD",
];

/// Which deployment this process is: decides the skills and channels that load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Instance {
    /// The family assistant on WhatsApp.
    Home,
    /// The business assistant on Slack.
    Biz,
}

impl Instance {
    /// The other instance.
    pub fn other(self) -> Instance {
        match self {
            Instance::Home => Instance::Biz,
            Instance::Biz => Instance::Home,
        }
    }

    /// The settings this instance refuses: the other instance's own ([`HOME_ONLY`], [`BIZ_ONLY`]).
    pub fn refused_settings(self) -> &'static [&'static str] {
        match self {
            Instance::Home => BIZ_ONLY,
            Instance::Biz => HOME_ONLY,
        }
    }

    /// The value of `INSTANCE` and the `instance` field of every log line.
    pub fn as_str(self) -> &'static str {
        match self {
            Instance::Home => "home",
            Instance::Biz => "biz",
        }
    }
}

impl fmt::Display for Instance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How logs are written to stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Decided when logging starts (the default): [`LogFormat::Pretty`] when stdout is a
    /// terminal — a person running `cargo run` — and [`LogFormat::Json`] otherwise (a container,
    /// a service manager, a pipe to a log shipper).
    Auto,
    /// One JSON object per line, for log shippers.
    Json,
    /// Human-readable, for a terminal.
    Pretty,
}

/// Everything the process needs, validated.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `INSTANCE`.
    pub instance: Instance,
    /// `HTTP_ADDR`: webhooks, health and metrics.
    pub http_addr: SocketAddr,
    /// `ADMIN_ADDR`: the admin API's own listener.
    pub admin_addr: SocketAddr,
    /// `ADMIN_API_KEY`: the admin API's bearer key; `None` keeps the admin API off.
    pub admin_api_key: Option<SecretString>,
    /// `ADMIN_READONLY_KEY`: a second key that sees everything the admin API and page show and
    /// changes nothing; needs `ADMIN_API_KEY` and must differ from it.
    pub admin_readonly_key: Option<SecretString>,
    /// `REDIS_URL` and `DATABASE_URL`; `None` means ephemeral mode.
    pub stores: Option<StoreSettings>,
    /// `REDIS_KEY_PREFIX`: prepended to every Redis key (tests give each run its own).
    pub redis_key_prefix: String,
    /// `HOSTNAME` (set by the platform: the container's name): names this replica's stream
    /// consumers, so a restarted replica finds its pending entries. `None`: the runtime reads
    /// `/etc/hostname`, then falls back to `alfred`.
    pub hostname: Option<String>,
    /// `REDIS_CA_FILE`, `REDIS_CLIENT_CERT_FILE`, `REDIS_CLIENT_KEY_FILE`: TLS beyond the web
    /// roots for a `rediss://` `REDIS_URL` (empty otherwise).
    pub redis_tls: crate::redis_tls::RedisTls,
    /// The WhatsApp Cloud API, when configured.
    pub whatsapp: Option<WhatsAppSettings>,
    /// Slack, when configured.
    pub slack: Option<SlackSettings>,
    /// The LLM for what the grammar cannot parse, when configured.
    pub llm: Option<LlmSettings>,
    /// The transcription of voice notes, when configured.
    pub transcribe: Option<TranscribeSettings>,
    /// The work inbox (Biz), when configured.
    pub imap: Option<ImapSettings>,
    /// `OUTBOUND_ENABLED`: `false` logs replies instead of sending them.
    pub outbound_enabled: bool,
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`: trace export when set.
    pub otlp_endpoint: Option<String>,
    /// `LOG_FORMAT`.
    pub log_format: LogFormat,
    /// Runtime tuning with safe defaults.
    pub tuning: Tuning,
    /// `HOUSEHOLDS_FILE`: the configured households (empty without the file).
    pub households: Vec<crate::households::Household>,
    /// `DEFAULT_TIMEZONE`: the time zone of conversations no household claims.
    pub default_timezone: chrono_tz::Tz,
    /// `INVOKE_PREFIXES`: in a group, only messages starting with one of these are for Alfred.
    pub invoke_prefixes: Vec<String>,
    /// `CLOCK` and `CLOCK_START`: the system clock, or a manual one for tests and demos.
    pub clock: ClockSetting,
    /// `SENDER_RATE_PER_MINUTE`, `SENDER_BURST`, `LLM_DAILY_BUDGET`, `MAX_TEXT_CHARS`.
    pub limits: SenderLimits,
    /// `STRANGERS` (Home with `HOUSEHOLDS_FILE`): what someone outside the households gets.
    pub strangers: Strangers,
    /// `CRM_READERS` (Biz): the platform user ids (Slack user ids, WhatsApp numbers) the CRM
    /// answers; nobody when empty.
    pub crm_readers: Vec<String>,
}

/// How much one sender may ask of Alfred. `None` turns a limit off (`0` or `off`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SenderLimits {
    /// `SENDER_RATE_PER_MINUTE`: the sustained rate of one sender's token bucket.
    pub rate_per_minute: Option<u32>,
    /// `SENDER_BURST`: the bucket's size, at least 1.
    pub burst: u32,
    /// `LLM_DAILY_BUDGET`: LLM requests per sender and UTC day.
    pub llm_daily_budget: Option<u32>,
    /// `MAX_TEXT_CHARS`: longer texts get a short reply and are not routed.
    pub max_text_chars: Option<u32>,
}

impl Default for SenderLimits {
    fn default() -> Self {
        SenderLimits {
            rate_per_minute: Some(defaults::SENDER_RATE_PER_MINUTE),
            burst: defaults::SENDER_BURST,
            llm_daily_budget: Some(defaults::LLM_DAILY_BUDGET),
            max_text_chars: Some(defaults::MAX_TEXT_CHARS),
        }
    }
}

/// What a stranger — a conversation no household of `HOUSEHOLDS_FILE` claims — gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strangers {
    /// One short refusal a day that reveals nothing of the family (the default).
    #[default]
    Refuse,
    /// No answer at all.
    Ignore,
}

/// Which clock the runtime runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockSetting {
    /// The system's clock (production).
    System,
    /// A clock that moves only through the admin API (`POST /admin/clock`), starting here.
    Manual {
        start: chrono::DateTime<chrono::Utc>,
    },
}

/// The durable stores. Both or neither: half a durable setup would silently lose data.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    /// `REDIS_URL` (secret: it may carry a password).
    pub redis_url: SecretString,
    /// `DATABASE_URL` (secret: it usually carries a password).
    pub database_url: SecretString,
    /// `DATABASE_STATEMENT_CACHE` (default on): prepare hot statements once per connection.
    /// Off for a transaction-mode pooler (PgBouncer `pool_mode = transaction`, Supabase's
    /// port 6543), where the next transaction may run on another server connection.
    pub database_statement_cache: bool,
}

/// The WhatsApp Cloud API.
#[derive(Debug, Clone)]
pub struct WhatsAppSettings {
    /// `META_TOKEN`: the bearer token for the Graph API.
    pub token: SecretString,
    /// `PHONE_ID`: our phone number id; messages to other ids are not answered.
    pub phone_id: String,
    /// `VERIFY_TOKEN`: answers Meta's webhook verification handshake.
    pub verify_token: SecretString,
    /// `APP_SECRET`: the HMAC key of `X-Hub-Signature-256`.
    pub app_secret: SecretString,
    /// `GRAPH_API_URL` without a trailing slash.
    pub graph_api_url: String,
    /// `GRAPH_API_VERSION`, e.g. `v21.0`.
    pub graph_api_version: String,
}

impl WhatsAppSettings {
    /// `{GRAPH_API_URL}/{GRAPH_API_VERSION}/{PHONE_ID}/messages`, where replies are sent.
    pub fn messages_url(&self) -> String {
        format!(
            "{}/{}/{}/messages",
            self.graph_api_url, self.graph_api_version, self.phone_id
        )
    }
}

/// Slack.
#[derive(Debug, Clone)]
pub struct SlackSettings {
    /// `SLACK_BOT_TOKEN`.
    pub bot_token: SecretString,
    /// `SLACK_SIGNING_SECRET`: the key of the v0 request signature; `None` with Socket Mode
    /// alone, and then the Events API over HTTP (`/slack/*`) is off.
    pub signing_secret: Option<SecretString>,
    /// `SLACK_APP_TOKEN` (`xapp-…`): Socket Mode, events over a WebSocket Alfred opens, so no
    /// public URL is needed. `None`: events arrive over HTTP only.
    pub app_token: Option<SecretString>,
    /// `SLACK_API_URL` without a trailing slash.
    pub api_url: String,
    /// `SLACK_TEAM_IDS`: the workspaces whose requests are answered; empty means the bot
    /// token's own workspace, as Slack's `auth.test` names it at start-up.
    pub team_ids: Vec<String>,
}

/// The work inbox read by IMAP over implicit TLS (Biz only; needs the durable stores).
#[derive(Debug, Clone)]
pub struct ImapSettings {
    /// `IMAP_HOST`: a host name or IP address; the server's certificate must name it.
    pub host: String,
    /// `IMAP_PORT`.
    pub port: u16,
    /// `IMAP_TLS`: how the connection is encrypted; never in clear.
    pub tls: ImapTls,
    /// `IMAP_USER`.
    pub user: String,
    /// `IMAP_PASSWORD`: the password or app password.
    pub password: SecretString,
    /// `IMAP_MAILBOX`: the folder read, `INBOX` by default.
    pub mailbox: String,
    /// `IMAP_CA_FILE`: a PEM file of extra certificate authorities to trust (a private mail
    /// server's); the public web roots are always trusted.
    pub ca_file: Option<std::path::PathBuf>,
    /// `IMAP_POLL_INTERVAL_MS`.
    pub poll_interval: Duration,
    /// `IMAP_TIMEOUT_MS`: one whole poll.
    pub timeout: Duration,
    /// `INBOX_READERS`: the platform user ids (Slack user ids such as `U024BE7LH`, WhatsApp
    /// numbers) allowed to read and change the inbox triage; nobody else is shown the mail.
    pub readers: Vec<String>,
}

/// How the IMAP connection is encrypted. There is no plain-text mode: the password never
/// crosses an unencrypted connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImapTls {
    /// TLS from the first byte (port 993), the default.
    Implicit,
    /// A plain connection upgraded with `STARTTLS` before anything else (port 143); a server
    /// that refuses the upgrade is an error, never a plain-text login.
    StartTls,
}

/// The optional LLM.
#[derive(Debug, Clone)]
pub struct LlmSettings {
    /// Which server to ask.
    pub provider: LlmProvider,
    /// `LLM_MODEL`, or the provider's default.
    pub model: String,
    /// `LLM_TIMEOUT_MS`: the longest one request may take; a slower LLM counts as failed.
    pub timeout: Duration,
}

/// Where LLM requests go.
#[derive(Debug, Clone)]
pub enum LlmProvider {
    /// A local Ollama at `OLLAMA_URL`.
    Ollama {
        /// `OLLAMA_URL` without a trailing slash.
        url: String,
    },
    /// OpenAI or a compatible server.
    OpenAi {
        /// `OPENAI_API_KEY`.
        api_key: SecretString,
        /// `OPENAI_BASE_URL` without a trailing slash.
        base_url: String,
    },
}

/// The speech-to-text server for voice notes: OpenAI's or any server with the same
/// `POST {TRANSCRIBE_URL}/audio/transcriptions` (a local Whisper server, a hosted one).
#[derive(Debug, Clone)]
pub struct TranscribeSettings {
    /// `TRANSCRIBE_URL` without a trailing slash: the base URL, like `OPENAI_BASE_URL`
    /// (`https://api.openai.com/v1`); `/audio/transcriptions` is appended.
    pub base_url: String,
    /// `TRANSCRIBE_API_KEY`: sent as a bearer token when set (a local server needs none).
    pub api_key: Option<SecretString>,
    /// `TRANSCRIBE_MODEL`.
    pub model: String,
    /// `TRANSCRIBE_MAX_BYTES`: larger voice notes are refused, never downloaded whole.
    pub max_bytes: usize,
    /// `TRANSCRIBE_TIMEOUT_MS`: download and transcription together.
    pub timeout: Duration,
}

/// Runtime tuning. Every field has a default in [`defaults`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tuning {
    /// `WEBHOOK_BODY_LIMIT`: larger request bodies get 413.
    pub webhook_body_limit: usize,
    /// `INGEST_READERS`: stream readers in the ingest consumer group.
    pub ingest_readers: usize,
    /// `INGEST_PARTITIONS`: partition streams of ingest; 0 = the single stream (no leases).
    /// Defaults to [`defaults::INGEST_PARTITIONS`] with Redis and Postgres, to 0 in ephemeral
    /// mode (one process on the in-memory bus keeps order without partitions).
    pub ingest_partitions: u32,
    /// `INGEST_LEASE_MS`: partition lease and replica heartbeat TTL.
    pub ingest_lease: Duration,
    /// `INGEST_BATCH`: entries read per `XREADGROUP`.
    pub ingest_batch: usize,
    /// `INGEST_CLAIM_IDLE_MS`: idle time before another consumer's pending entry is claimed.
    pub ingest_claim_idle: Duration,
    /// `INGEST_MAX_DELIVERIES`: more deliveries than this dead-letter the entry.
    pub ingest_max_deliveries: u32,
    /// `OUTBOX_BATCH`: entries the outbox reader reads per `XREADGROUP`.
    pub outbox_batch: usize,
    /// `OUTBOX_CLAIM_IDLE_MS`: idle time before another consumer's pending outbox entry is
    /// claimed.
    pub outbox_claim_idle: Duration,
    /// `OUTBOX_MAX_DELIVERIES`: more deliveries than this dead-letter the outbox entry.
    pub outbox_max_deliveries: u32,
    /// `OUTBOUND_MAX_ATTEMPTS`: send attempts before a reply is dead-lettered.
    pub outbound_max_attempts: u32,
    /// `OUTBOUND_TIMEOUT_MS`: the timeout of one outbound HTTP request.
    pub outbound_timeout: Duration,
    /// `RELAY_INTERVAL_MS`: the outbox relay's period.
    pub relay_interval: Duration,
    /// `OUTBOUND_CLAIM_LEASE_MS`: how long a claimed reply is protected from other senders;
    /// after it, a reply whose send outcome is unknown is sent again.
    pub outbound_claim_lease: Duration,
    /// `RETENTION_DAYS`: how long handled inbox keys and sent replies are kept.
    pub retention: Duration,
    /// `JANITOR_INTERVAL_MS`: the janitor's period.
    pub janitor_interval: Duration,
    /// `STALE_CONSUMER_IDLE_MS`: idle time after which a consumer with nothing pending is
    /// removed from its group.
    pub stale_consumer_idle: Duration,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            webhook_body_limit: defaults::WEBHOOK_BODY_LIMIT,
            ingest_readers: defaults::INGEST_READERS,
            // Without stores (as here: nothing says there are any) partitions are off.
            ingest_partitions: 0,
            ingest_lease: Duration::from_millis(defaults::INGEST_LEASE_MS),
            ingest_batch: defaults::INGEST_BATCH,
            ingest_claim_idle: Duration::from_millis(defaults::INGEST_CLAIM_IDLE_MS),
            ingest_max_deliveries: defaults::INGEST_MAX_DELIVERIES,
            outbox_batch: defaults::OUTBOX_BATCH,
            outbox_claim_idle: Duration::from_millis(defaults::OUTBOX_CLAIM_IDLE_MS),
            outbox_max_deliveries: defaults::OUTBOX_MAX_DELIVERIES,
            outbound_max_attempts: defaults::OUTBOUND_MAX_ATTEMPTS,
            outbound_timeout: Duration::from_millis(defaults::OUTBOUND_TIMEOUT_MS),
            relay_interval: Duration::from_millis(defaults::RELAY_INTERVAL_MS),
            outbound_claim_lease: Duration::from_millis(defaults::OUTBOUND_CLAIM_LEASE_MS),
            retention: Duration::from_secs(defaults::RETENTION_DAYS * 86_400),
            janitor_interval: Duration::from_millis(defaults::JANITOR_INTERVAL_MS),
            stale_consumer_idle: Duration::from_millis(defaults::STALE_CONSUMER_IDLE_MS),
        }
    }
}

impl Settings {
    /// No `REDIS_URL`/`DATABASE_URL`: in-process bus and in-memory store, nothing durable.
    pub fn is_ephemeral(&self) -> bool {
        self.stores.is_none()
    }

    /// Whether the admin API should listen (it needs a key).
    pub fn admin_enabled(&self) -> bool {
        self.admin_api_key.is_some()
    }

    /// Whether any platform can receive replies; without one, replies are printed (DESIGN.md §5).
    pub fn has_channels(&self) -> bool {
        self.whatsapp.is_some() || self.slack.is_some()
    }

    /// A one-line, secret-free summary for the start-up log, e.g.
    /// `instance=home mode=ephemeral whatsapp=off slack=off imap=off llm=off transcribe=off
    /// admin=off outbound=on`.
    pub fn summary(&self) -> String {
        let on = |b: bool| if b { "on" } else { "off" };
        format!(
            "instance={} mode={} whatsapp={} slack={} imap={} llm={} transcribe={} admin={} outbound={}",
            self.instance,
            if self.is_ephemeral() {
                "ephemeral"
            } else {
                "durable"
            },
            on(self.whatsapp.is_some()),
            on(self.slack.is_some()),
            on(self.imap.is_some()),
            on(self.llm.is_some()),
            on(self.transcribe.is_some()),
            on(self.admin_enabled()),
            on(self.outbound_enabled),
        )
    }
}
