//! Building [`Settings`] from variables: every rule of DESIGN.md §6, every problem collected.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;

use crate::error::ConfigError;
use crate::reader::{file_var, Reader};
use crate::settings::{
    defaults, ClockSetting, ImapSettings, ImapTls, Instance, LlmProvider, LlmSettings, LogFormat,
    SenderLimits, Settings, SlackSettings, StoreSettings, Strangers, TranscribeSettings, Tuning,
    WhatsAppSettings, SECRET_VARIABLES, VARIABLES,
};

impl Settings {
    /// Loads and validates the settings from the process environment.
    ///
    /// # Errors
    /// Every problem found, each naming its variable (see [`Settings::from_vars`]).
    pub fn from_env() -> Result<Self, ConfigError> {
        let mut vars = Vec::new();
        let mut not_unicode = Vec::new();
        for (key, value) in std::env::vars_os() {
            let Ok(key) = key.into_string() else { continue };
            match value.into_string() {
                Ok(value) => vars.push((key, value)),
                Err(_) if is_ours(&key) => not_unicode.push(key),
                Err(_) => {}
            }
        }
        let mut reader = Reader::new(vars);
        for key in not_unicode {
            reader.problem(&key, "is not valid UTF-8");
        }
        load(reader)
    }

    /// Loads and validates the settings from the given variables, ignoring the environment;
    /// this is what tests call.
    ///
    /// # Errors
    /// Every problem found, each naming its variable: unknown `INSTANCE`, unparsable addresses
    /// and numbers, half-configured groups (naming each missing variable), a secret given both as
    /// `VAR` and `VAR_FILE`, an unreadable secret file.
    pub fn from_vars<I: IntoIterator<Item = (String, String)>>(
        vars: I,
    ) -> Result<Self, ConfigError> {
        load(Reader::new(vars))
    }
}

fn is_ours(key: &str) -> bool {
    VARIABLES.contains(&key)
        || SECRET_VARIABLES
            .iter()
            .any(|name| key == file_var(name).as_str())
}

fn load(mut r: Reader) -> Result<Settings, ConfigError> {
    let instance = r.parsed_or(
        "INSTANCE",
        defaults::INSTANCE,
        "home or biz",
        parse_instance,
    );
    // An unknown INSTANCE is already reported; judging the other settings against the default
    // would only add noise.
    if r.plain("INSTANCE")
        .is_none_or(|raw| parse_instance(&raw).is_some())
    {
        refuse_other_instance(&mut r, instance);
    }
    let http_addr = addr(&mut r, "HTTP_ADDR", defaults::HTTP_ADDR);
    let admin_addr = addr(&mut r, "ADMIN_ADDR", defaults::ADMIN_ADDR);
    let admin_api_key = r.secret("ADMIN_API_KEY");
    admin_key_length(&mut r, "ADMIN_API_KEY", admin_api_key.as_ref());
    let admin_readonly_key = r.secret("ADMIN_READONLY_KEY");
    admin_key_length(&mut r, "ADMIN_READONLY_KEY", admin_readonly_key.as_ref());
    if let Some(readonly) = &admin_readonly_key {
        use secrecy::ExposeSecret;
        match &admin_api_key {
            None => r.problem(
                "ADMIN_READONLY_KEY",
                "is set without ADMIN_API_KEY; the admin API (and its read-only role) needs ADMIN_API_KEY",
            ),
            // Equal keys would make every holder of the read-only key an admin.
            Some(admin) if admin.expose_secret() == readonly.expose_secret() => r.problem(
                "ADMIN_READONLY_KEY",
                "is the same as ADMIN_API_KEY; give the read-only role a key of its own",
            ),
            Some(_) => {}
        }
    }
    let stores = stores(&mut r);
    let redis_key_prefix = r.plain("REDIS_KEY_PREFIX").unwrap_or_default();
    let hostname = r
        .plain("HOSTNAME")
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty());
    let redis_tls =
        crate::redis_tls::redis_tls(&mut r, stores.as_ref().map(|stores| &stores.redis_url));
    let whatsapp = whatsapp(&mut r);
    let slack = slack(&mut r);
    let llm = llm(&mut r);
    let transcribe = transcribe(&mut r, whatsapp.is_some());
    let imap = imap(&mut r, stores.is_some());
    let outbound_enabled = r.bool_or("OUTBOUND_ENABLED", defaults::OUTBOUND_ENABLED);
    let otlp_endpoint = r.http_url("OTEL_EXPORTER_OTLP_ENDPOINT");
    let log_format = r.parsed_or(
        "LOG_FORMAT",
        LogFormat::Auto,
        "json, pretty or auto",
        |raw| match raw.to_ascii_lowercase().as_str() {
            "auto" => Some(LogFormat::Auto),
            "json" => Some(LogFormat::Json),
            "pretty" => Some(LogFormat::Pretty),
            _ => None,
        },
    );
    let mut tuning = tuning(&mut r);
    tuning.ingest_partitions = ingest_partitions(&mut r, stores.is_some());
    if tuning.ingest_partitions > 0 && tuning.outbound_claim_lease <= tuning.ingest_lease * 2 {
        // A killed replica's partitions move within about 4/3 of the lease; until then the
        // platform's `sent` callbacks waiting there cannot prove its last sends were delivered,
        // and a claim lease that ran out first would send those replies again.
        r.problem(
            "OUTBOUND_CLAIM_LEASE_MS",
            format!(
                "is {} ms, which must be more than twice INGEST_LEASE_MS ({} ms) with partitions: a reply whose sender was killed would be sent again before the delivery callback on its partition is read",
                tuning.outbound_claim_lease.as_millis(),
                tuning.ingest_lease.as_millis()
            ),
        );
    }
    if let Some(llm) = &llm {
        // A message waits for the LLM while its entry stays pending; claimed by another reader
        // in the meantime, it would be handled twice at once (answered once, but the LLM asked
        // twice and the conversation's order lost).
        if tuning.ingest_claim_idle <= llm.timeout {
            r.problem(
                "INGEST_CLAIM_IDLE_MS",
                format!(
                    "is {} ms, which must be longer than LLM_TIMEOUT_MS ({} ms): a message waiting for the LLM would be claimed and handled a second time",
                    tuning.ingest_claim_idle.as_millis(),
                    llm.timeout.as_millis()
                ),
            );
        }
    }
    if let Some(transcribe) = &transcribe {
        // A voice note waits for its download, its transcription and then maybe the LLM while
        // its entry stays pending: the same reason as for the LLM above.
        let waits = transcribe.timeout + llm.as_ref().map_or(Duration::ZERO, |llm| llm.timeout);
        if tuning.ingest_claim_idle <= waits {
            r.problem(
                "INGEST_CLAIM_IDLE_MS",
                format!(
                    "is {} ms, which must be longer than TRANSCRIBE_TIMEOUT_MS plus LLM_TIMEOUT_MS ({} ms): a voice note waiting for its transcript would be claimed and handled a second time",
                    tuning.ingest_claim_idle.as_millis(),
                    waits.as_millis()
                ),
            );
        }
    }
    let default_timezone = r.parsed_or(
        "DEFAULT_TIMEZONE",
        defaults::DEFAULT_TIMEZONE,
        "an IANA time zone such as Europe/Berlin",
        |raw| raw.parse::<chrono_tz::Tz>().ok(),
    );
    let households = households(&mut r, default_timezone);
    let invoke_prefixes = match r.plain("INVOKE_PREFIXES") {
        Some(raw) => raw
            .split(',')
            .map(|p| p.trim().to_lowercase())
            .filter(|p| !p.is_empty())
            .collect(),
        None => defaults::INVOKE_PREFIXES
            .iter()
            .map(|p| (*p).to_owned())
            .collect(),
    };
    let clock = clock(&mut r);
    refuse_manual_clock_with_durable_stores(&mut r, &clock);
    let limits = limits(&mut r);
    let strangers = r.parsed_or(
        "STRANGERS",
        Strangers::default(),
        "refuse or ignore",
        |raw| match raw.to_ascii_lowercase().as_str() {
            "refuse" => Some(Strangers::Refuse),
            "ignore" => Some(Strangers::Ignore),
            _ => None,
        },
    );
    let crm_readers = id_list(&mut r, "CRM_READERS");

    r.finish(Settings {
        instance,
        http_addr,
        admin_addr,
        admin_api_key,
        admin_readonly_key,
        stores,
        redis_key_prefix,
        hostname,
        redis_tls,
        whatsapp,
        slack,
        llm,
        transcribe,
        imap,
        outbound_enabled,
        otlp_endpoint,
        log_format,
        tuning,
        households,
        default_timezone,
        invoke_prefixes,
        clock,
        limits,
        strangers,
        crm_readers,
    })
}

fn parse_instance(raw: &str) -> Option<Instance> {
    match raw.to_ascii_lowercase().as_str() {
        "home" => Some(Instance::Home),
        "biz" => Some(Instance::Biz),
        _ => None,
    }
}

/// Isolation by construction: the other instance's settings are refused, not ignored. A Biz
/// environment that names a households file (or a Home one with Slack credentials) is the wrong
/// file or a merged one, and starting anyway would put one side's data or secrets in the other.
fn refuse_other_instance(r: &mut Reader, instance: Instance) {
    let owner = instance.other();
    for name in instance.refused_settings() {
        for given in [(*name).to_owned(), file_var(name)] {
            if r.plain(&given).is_some() {
                r.problem(
                    &given,
                    format!(
                        "is a {owner}-only setting and this is INSTANCE={instance}; remove it from this instance's environment (each instance has its own)"
                    ),
                );
            }
        }
    }
}

/// `HOUSEHOLDS_FILE`: read and validated with everything else.
fn households(
    r: &mut Reader,
    default_timezone: chrono_tz::Tz,
) -> Vec<crate::households::Household> {
    let Some(path) = r.plain("HOUSEHOLDS_FILE") else {
        return Vec::new();
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) => {
            r.problem("HOUSEHOLDS_FILE", format!("cannot read {path}: {error}"));
            return Vec::new();
        }
    };
    match crate::households::parse(&text, default_timezone) {
        Ok(households) => households,
        Err(problems) => {
            for problem in problems {
                r.problem("HOUSEHOLDS_FILE", format!("{path}: {problem}"));
            }
            Vec::new()
        }
    }
}

/// `CLOCK` (`system` or `manual`) and `CLOCK_START` (RFC 3339, for the manual clock).
fn clock(r: &mut Reader) -> ClockSetting {
    let manual = r.parsed_or("CLOCK", false, "system or manual", |raw| {
        match raw.to_ascii_lowercase().as_str() {
            "system" => Some(false),
            "manual" => Some(true),
            _ => None,
        }
    });
    let start = r
        .plain("CLOCK_START")
        .map(|raw| chrono::DateTime::parse_from_rfc3339(&raw));
    match (manual, start) {
        (false, Some(_)) => {
            r.problem("CLOCK_START", "is only used with CLOCK=manual");
            ClockSetting::System
        }
        (false, None) => ClockSetting::System,
        (true, None) => ClockSetting::Manual {
            start: chrono::Utc::now(),
        },
        (true, Some(Ok(start))) => ClockSetting::Manual {
            start: start.to_utc(),
        },
        (true, Some(Err(_))) => {
            r.problem(
                "CLOCK_START",
                "is not an RFC 3339 time such as 2026-11-26T06:59:00Z",
            );
            ClockSetting::System
        }
    }
}

/// A manual clock only in ephemeral mode. On durable stores a clock moved past
/// `RETENTION_DAYS` makes the janitor purge every inbox key, so a platform's retry would be
/// answered twice; and a scheduler on pretend time would send real briefings at the wrong hour.
fn refuse_manual_clock_with_durable_stores(r: &mut Reader, clock: &ClockSetting) {
    let durable: Vec<&str> = ["REDIS_URL", "DATABASE_URL"]
        .into_iter()
        .filter(|name| r.secret_is_set(name))
        .collect();
    if matches!(clock, ClockSetting::Manual { .. }) && !durable.is_empty() {
        r.problem(
            "CLOCK",
            format!(
                "is manual, which is refused with durable stores ({} set): a clock moved past RETENTION_DAYS would purge the inbox and answer platform retries twice; use CLOCK=manual only in ephemeral mode (neither REDIS_URL nor DATABASE_URL), e.g. alfred chat --simulated-time",
                durable.join(" and ")
            ),
        );
    }
}

/// The per-sender limits; each of the three limits may be turned off with `0` or `off`.
fn limits(r: &mut Reader) -> SenderLimits {
    let rate_per_minute = limit(
        r,
        "SENDER_RATE_PER_MINUTE",
        defaults::SENDER_RATE_PER_MINUTE,
    );
    let burst = r.number_or("SENDER_BURST", defaults::SENDER_BURST, 1);
    if rate_per_minute.is_none() && r.plain("SENDER_BURST").is_some() {
        r.problem(
            "SENDER_BURST",
            "is only used with SENDER_RATE_PER_MINUTE, which is off",
        );
    }
    SenderLimits {
        rate_per_minute,
        burst,
        llm_daily_budget: limit(r, "LLM_DAILY_BUDGET", defaults::LLM_DAILY_BUDGET),
        max_text_chars: limit(r, "MAX_TEXT_CHARS", defaults::MAX_TEXT_CHARS),
    }
}

/// A limit: a positive whole number, or `0`/`off` for none.
fn limit(r: &mut Reader, name: &str, default: u32) -> Option<u32> {
    r.parsed_or(
        name,
        Some(default),
        "a whole number, or 0 or off for no limit",
        |raw| {
            if raw.eq_ignore_ascii_case("off") {
                return Some(None);
            }
            raw.parse::<u32>().ok().map(|n| (n > 0).then_some(n))
        },
    )
}

fn addr(r: &mut Reader, name: &str, default: &str) -> SocketAddr {
    // The defaults are literals that parse; the fallback only keeps this free of `expect`.
    let fallback = default
        .parse()
        .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 0)));
    r.parse_or(
        name,
        fallback,
        "an IP address and port such as 0.0.0.0:8000",
    )
}

/// Both URLs or neither: one alone is a mistake that would otherwise start a half-durable process.
fn stores(r: &mut Reader) -> Option<StoreSettings> {
    let redis_set = r.secret_is_set("REDIS_URL");
    let database_set = r.secret_is_set("DATABASE_URL");
    let redis_url = checked_redis_url(r);
    let database_url = checked_url(r, "DATABASE_URL", &["postgres://", "postgresql://"]);
    match (redis_set, database_set) {
        (true, false) => r.problem(
            "DATABASE_URL",
            "is required when REDIS_URL is set (set both for durable mode, neither for ephemeral mode)",
        ),
        (false, true) => r.problem(
            "REDIS_URL",
            "is required when DATABASE_URL is set (set both for durable mode, neither for ephemeral mode)",
        ),
        _ => {}
    }
    // Postgres over TLS and through poolers (issue 9).
    if let Some(url) = &database_url {
        check_libpq_parameters(r, url);
    }
    let database_statement_cache = r.on_off_or("DATABASE_STATEMENT_CACHE", true);
    Some(StoreSettings {
        redis_url: redis_url?,
        database_url: database_url?,
        database_statement_cache,
    })
}

/// `sslmode` must be one libpq knows and the `sslrootcert` file readable now, not at the first
/// connection. Problems name the parameter and the path, never the URL.
fn check_libpq_parameters(r: &mut Reader, url: &SecretString) {
    use crate::postgres_url::{LibpqUrl, RootCert};
    use secrecy::ExposeSecret;
    match LibpqUrl::parse(url.expose_secret()) {
        Err(problem) => r.problem("DATABASE_URL", problem),
        Ok(parsed) => {
            if let RootCert::File(path) = &parsed.root_cert {
                if let Err(error) = std::fs::read(path) {
                    r.problem(
                        "DATABASE_URL",
                        format!("sslrootcert {} cannot be read: {error}", path.display()),
                    );
                }
            }
        }
    }
}

/// `REDIS_URL`: one URL (a single Redis), or the nodes of a Redis Cluster, comma-separated, each
/// `redis://` or `rediss://` (a cluster hands out TCP addresses, never sockets) and all alike.
fn checked_redis_url(r: &mut Reader) -> Option<SecretString> {
    use secrecy::ExposeSecret;
    let url = checked_url(
        r,
        "REDIS_URL",
        &["redis://", "rediss://", "unix://", "redis+unix://"],
    )?;
    let nodes: Vec<&str> = url
        .expose_secret()
        .split(',')
        .map(str::trim)
        .filter(|node| !node.is_empty())
        .collect();
    if nodes.len() < 2 {
        return Some(url);
    }
    let scheme = |node: &str| {
        ["redis://", "rediss://"]
            .into_iter()
            .find(|scheme| node.starts_with(scheme))
    };
    let first = nodes.first().and_then(|node| scheme(node));
    if first.is_none() || nodes.iter().any(|node| scheme(node) != first) {
        r.problem(
            "REDIS_URL",
            "lists several nodes (a Redis Cluster): each must start with redis://, or each with rediss://",
        );
        return None;
    }
    Some(url)
}

/// A secret URL whose scheme is checked without ever echoing the value (it may hold a password).
fn checked_url(r: &mut Reader, name: &str, schemes: &[&str]) -> Option<SecretString> {
    use secrecy::ExposeSecret;
    let url = r.secret(name)?;
    if schemes
        .iter()
        .any(|s| url.expose_secret().trim().starts_with(s))
    {
        Some(url)
    } else {
        r.problem(name, format!("must start with {}", schemes.join(" or ")));
        None
    }
}

/// Reports each missing member of a group when some but not all members are set.
fn require_all(r: &mut Reader, group: &str, members: &[(&str, bool)]) {
    if members.iter().any(|(_, set)| *set) {
        let given: Vec<&str> = members
            .iter()
            .filter(|(_, s)| *s)
            .map(|(n, _)| *n)
            .collect();
        for (name, _) in members.iter().filter(|(_, set)| !*set) {
            r.problem(
                name,
                format!(
                    "is required for {group} because {} is set",
                    given.join(", ")
                ),
            );
        }
    }
}

fn whatsapp(r: &mut Reader) -> Option<WhatsAppSettings> {
    let graph_api_url = r.http_url_or("GRAPH_API_URL", defaults::GRAPH_API_URL);
    let graph_api_version = r.parsed_or(
        "GRAPH_API_VERSION",
        defaults::GRAPH_API_VERSION.to_owned(),
        "a version such as v21.0",
        |raw| is_graph_version(raw).then(|| raw.to_owned()),
    );
    let members = [
        ("META_TOKEN", r.secret_is_set("META_TOKEN")),
        ("PHONE_ID", r.plain("PHONE_ID").is_some()),
        ("VERIFY_TOKEN", r.secret_is_set("VERIFY_TOKEN")),
        ("APP_SECRET", r.secret_is_set("APP_SECRET")),
    ];
    require_all(r, "WhatsApp", &members);
    let token = r.secret("META_TOKEN");
    let verify_token = r.secret("VERIFY_TOKEN");
    let app_secret = r.secret("APP_SECRET");
    Some(WhatsAppSettings {
        token: token?,
        phone_id: r.plain("PHONE_ID")?,
        verify_token: verify_token?,
        app_secret: app_secret?,
        graph_api_url,
        graph_api_version,
    })
}

fn is_graph_version(raw: &str) -> bool {
    let Some(rest) = raw.strip_prefix('v') else {
        return false;
    };
    let mut parts = rest.split('.');
    let numeric =
        |p: Option<&str>| p.is_some_and(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    numeric(parts.next()) && numeric(parts.next()) && parts.next().is_none()
}

fn slack(r: &mut Reader) -> Option<SlackSettings> {
    use secrecy::ExposeSecret;
    let api_url = r.http_url_or("SLACK_API_URL", defaults::SLACK_API_URL);
    let bot_token_set = r.secret_is_set("SLACK_BOT_TOKEN");
    let signing_secret_set = r.secret_is_set("SLACK_SIGNING_SECRET");
    let app_token_set = r.secret_is_set("SLACK_APP_TOKEN");
    // Events come over HTTP (signed with the signing secret), over Socket Mode (the app
    // token), or both; replies always need the bot token.
    let given: Vec<&str> = [
        ("SLACK_SIGNING_SECRET", signing_secret_set),
        ("SLACK_APP_TOKEN", app_token_set),
    ]
    .iter()
    .filter(|(_, set)| *set)
    .map(|(name, _)| *name)
    .collect();
    if !bot_token_set && !given.is_empty() {
        r.problem(
            "SLACK_BOT_TOKEN",
            format!(
                "is required for Slack because {} is set: replies are posted with it",
                given.join(", ")
            ),
        );
    }
    if bot_token_set && given.is_empty() {
        r.problem(
            "SLACK_SIGNING_SECRET",
            "is required for Slack because SLACK_BOT_TOKEN is set: set it for the Events API over HTTP, or set SLACK_APP_TOKEN (xapp-…) for Socket Mode instead",
        );
    }
    let bot_token = r.secret("SLACK_BOT_TOKEN");
    let signing_secret = r.secret("SLACK_SIGNING_SECRET");
    let app_token = r.secret("SLACK_APP_TOKEN");
    if let Some(token) = &app_token {
        if !token.expose_secret().starts_with("xapp-") {
            r.problem(
                "SLACK_APP_TOKEN",
                "is not an app-level token: it must start with xapp- (Slack app settings, Basic Information, App-Level Tokens, with the connections:write scope)",
            );
        }
    }
    let team_ids = id_list(r, "SLACK_TEAM_IDS");
    if let Some(bad) = team_ids.iter().find(|id| !is_slack_team_id(id)) {
        r.problem(
            "SLACK_TEAM_IDS",
            format!("names {bad:?}, which is not a Slack workspace id (T followed by letters and digits, e.g. T024BE7LD)"),
        );
    }
    if signing_secret.is_none() && app_token.is_none() {
        return None;
    }
    Some(SlackSettings {
        bot_token: bot_token?,
        signing_secret,
        app_token,
        api_url,
        team_ids,
    })
}

/// A Slack workspace (team) id: `T` and upper-case letters and digits.
fn is_slack_team_id(id: &str) -> bool {
    id.strip_prefix('T').is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    })
}

/// A comma-separated list of ids (`INBOX_READERS`, `CRM_READERS`, `SLACK_TEAM_IDS`), blanks
/// dropped; empty when unset.
fn id_list(r: &mut Reader, name: &str) -> Vec<String> {
    r.plain(name)
        .map(|raw| {
            raw.split(',')
                .map(|id| id.trim().to_owned())
                .filter(|id| !id.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// The work inbox: host, user and password together, the durable stores (mail is remembered
/// by Message-ID in Postgres) and at least one reader (the mail is the owner's, not the whole
/// workspace's).
fn imap(r: &mut Reader, durable: bool) -> Option<ImapSettings> {
    let members = [
        ("IMAP_HOST", r.plain("IMAP_HOST").is_some()),
        ("IMAP_USER", r.plain("IMAP_USER").is_some()),
        ("IMAP_PASSWORD", r.secret_is_set("IMAP_PASSWORD")),
    ];
    let any_set = members.iter().any(|(_, set)| *set);
    require_all(r, "the work inbox", &members);
    let tls = r.parsed_or(
        "IMAP_TLS",
        ImapTls::Implicit,
        "implicit or starttls",
        |raw| match raw.to_ascii_lowercase().as_str() {
            "implicit" => Some(ImapTls::Implicit),
            "starttls" => Some(ImapTls::StartTls),
            _ => None,
        },
    );
    let default_port = match tls {
        ImapTls::Implicit => defaults::IMAP_PORT,
        ImapTls::StartTls => defaults::IMAP_STARTTLS_PORT,
    };
    let port = r.number_or("IMAP_PORT", default_port, 1);
    let mailbox = r
        .plain("IMAP_MAILBOX")
        .unwrap_or_else(|| defaults::IMAP_MAILBOX.to_owned());
    let ca_file = r.plain("IMAP_CA_FILE").map(std::path::PathBuf::from);
    if let Some(path) = &ca_file {
        if !path.is_file() {
            let message = format!("names {}, which is not a readable file", path.display());
            r.problem("IMAP_CA_FILE", message);
        }
    }
    let poll_interval = r.millis_or("IMAP_POLL_INTERVAL_MS", defaults::IMAP_POLL_INTERVAL_MS);
    let timeout = r.millis_or("IMAP_TIMEOUT_MS", defaults::IMAP_TIMEOUT_MS);
    let readers = id_list(r, "INBOX_READERS");
    let password = r.secret("IMAP_PASSWORD");
    if any_set {
        if !durable {
            r.problem(
                "IMAP_HOST",
                "needs REDIS_URL and DATABASE_URL: mail is remembered by Message-ID in Postgres, so none is summarised twice",
            );
        }
        if readers.is_empty() {
            r.problem(
                "INBOX_READERS",
                "is required with IMAP_HOST: name the user ids (Slack user ids such as U024BE7LH) allowed to read the mailbox",
            );
        }
    }
    Some(ImapSettings {
        host: r.plain("IMAP_HOST")?,
        port,
        tls,
        user: r.plain("IMAP_USER")?,
        password: password?,
        mailbox,
        ca_file,
        poll_interval,
        timeout,
        readers,
    })
}

/// Ollama or OpenAI, never both; settings that only make sense with a provider need one.
fn llm(r: &mut Reader) -> Option<LlmSettings> {
    let ollama_set = r.plain("OLLAMA_URL").is_some();
    let openai_set = r.secret_is_set("OPENAI_API_KEY");
    let ollama_url = r.http_url("OLLAMA_URL");
    let api_key = r.secret("OPENAI_API_KEY");
    let base_url = r.http_url("OPENAI_BASE_URL");
    let base_url_set = r.plain("OPENAI_BASE_URL").is_some();
    let model = r.plain("LLM_MODEL");
    let timeout = r.millis_or("LLM_TIMEOUT_MS", defaults::LLM_TIMEOUT_MS);
    if ollama_set && openai_set {
        r.problem(
            "OLLAMA_URL",
            "set either OLLAMA_URL or OPENAI_API_KEY, not both",
        );
        return None;
    }
    if base_url_set && !openai_set {
        r.problem(
            "OPENAI_API_KEY",
            "is required because OPENAI_BASE_URL is set",
        );
    }
    if ollama_set {
        return Some(LlmSettings {
            provider: LlmProvider::Ollama { url: ollama_url? },
            model: model.unwrap_or_else(|| defaults::OLLAMA_MODEL.to_owned()),
            timeout,
        });
    }
    if openai_set {
        return Some(LlmSettings {
            provider: LlmProvider::OpenAi {
                api_key: api_key?,
                base_url: base_url.unwrap_or_else(|| defaults::OPENAI_BASE_URL.to_owned()),
            },
            model: model.unwrap_or_else(|| defaults::OPENAI_MODEL.to_owned()),
            timeout,
        });
    }
    if model.is_some() {
        r.problem(
            "LLM_MODEL",
            "needs OLLAMA_URL or OPENAI_API_KEY to choose an LLM",
        );
    }
    None
}

/// Voice notes' transcription: on with `TRANSCRIBE_URL`; its other settings need it, and it
/// needs WhatsApp (the only platform whose voice notes Alfred fetches).
fn transcribe(r: &mut Reader, whatsapp: bool) -> Option<TranscribeSettings> {
    let url_set = r.plain("TRANSCRIBE_URL").is_some();
    let base_url = r.http_url("TRANSCRIBE_URL");
    let api_key = r.secret("TRANSCRIBE_API_KEY");
    let model = r.plain("TRANSCRIBE_MODEL");
    let max_bytes = r.number_or("TRANSCRIBE_MAX_BYTES", defaults::TRANSCRIBE_MAX_BYTES, 1);
    let timeout = r.millis_or("TRANSCRIBE_TIMEOUT_MS", defaults::TRANSCRIBE_TIMEOUT_MS);
    if !url_set {
        for name in [
            "TRANSCRIBE_API_KEY",
            "TRANSCRIBE_MODEL",
            "TRANSCRIBE_MAX_BYTES",
            "TRANSCRIBE_TIMEOUT_MS",
        ] {
            let set = if name == "TRANSCRIBE_API_KEY" {
                r.secret_is_set(name)
            } else {
                r.plain(name).is_some()
            };
            if set {
                r.problem(
                    name,
                    "needs TRANSCRIBE_URL, the speech-to-text server's base URL (e.g. https://api.openai.com/v1)",
                );
            }
        }
        return None;
    }
    if !whatsapp {
        r.problem(
            "TRANSCRIBE_URL",
            "needs WhatsApp (META_TOKEN, PHONE_ID, VERIFY_TOKEN, APP_SECRET): voice notes are fetched from the Graph API",
        );
    }
    Some(TranscribeSettings {
        base_url: base_url?,
        api_key,
        model: model.unwrap_or_else(|| defaults::TRANSCRIBE_MODEL.to_owned()),
        max_bytes,
        timeout,
    })
}

fn tuning(r: &mut Reader) -> Tuning {
    Tuning {
        webhook_body_limit: r.number_or("WEBHOOK_BODY_LIMIT", defaults::WEBHOOK_BODY_LIMIT, 1),
        ingest_readers: r.number_or("INGEST_READERS", defaults::INGEST_READERS, 1),
        // Its default depends on the stores: see `ingest_partitions`.
        ingest_partitions: 0,
        ingest_lease: r.millis_or("INGEST_LEASE_MS", defaults::INGEST_LEASE_MS),
        ingest_batch: r.number_or("INGEST_BATCH", defaults::INGEST_BATCH, 1),
        ingest_claim_idle: r.millis_or("INGEST_CLAIM_IDLE_MS", defaults::INGEST_CLAIM_IDLE_MS),
        ingest_max_deliveries: r.number_or(
            "INGEST_MAX_DELIVERIES",
            defaults::INGEST_MAX_DELIVERIES,
            1,
        ),
        outbox_batch: r.number_or("OUTBOX_BATCH", defaults::OUTBOX_BATCH, 1),
        outbox_claim_idle: r.millis_or("OUTBOX_CLAIM_IDLE_MS", defaults::OUTBOX_CLAIM_IDLE_MS),
        outbox_max_deliveries: r.number_or(
            "OUTBOX_MAX_DELIVERIES",
            defaults::OUTBOX_MAX_DELIVERIES,
            1,
        ),
        outbound_max_attempts: r.number_or(
            "OUTBOUND_MAX_ATTEMPTS",
            defaults::OUTBOUND_MAX_ATTEMPTS,
            1,
        ),
        outbound_timeout: r.millis_or("OUTBOUND_TIMEOUT_MS", defaults::OUTBOUND_TIMEOUT_MS),
        relay_interval: r.millis_or("RELAY_INTERVAL_MS", defaults::RELAY_INTERVAL_MS),
        outbound_claim_lease: r
            .millis_or("OUTBOUND_CLAIM_LEASE_MS", defaults::OUTBOUND_CLAIM_LEASE_MS),
        retention: Duration::from_secs(
            r.number_or(
                "RETENTION_DAYS",
                defaults::RETENTION_DAYS,
                defaults::RETENTION_DAYS_MIN,
            ) * 86_400,
        ),
        janitor_interval: r.millis_or("JANITOR_INTERVAL_MS", defaults::JANITOR_INTERVAL_MS),
        stale_consumer_idle: r
            .millis_or("STALE_CONSUMER_IDLE_MS", defaults::STALE_CONSUMER_IDLE_MS),
    }
}

/// `INGEST_PARTITIONS`: on by default ([`defaults::INGEST_PARTITIONS`]) with durable stores,
/// off in ephemeral mode; an explicit `0` keeps the single stream (the rollback), an explicit
/// `N ≥ 1` without the durable stores is a problem.
fn ingest_partitions(r: &mut Reader, durable: bool) -> u32 {
    let default = if durable {
        defaults::INGEST_PARTITIONS
    } else {
        0
    };
    let partitions = r.number_or("INGEST_PARTITIONS", default, 0);
    if partitions > 0 && !durable {
        // Leases live in Redis and fences in Postgres; one ephemeral process needs neither.
        r.problem(
            "INGEST_PARTITIONS",
            "needs REDIS_URL and DATABASE_URL: partition leases live in Redis and their fences in Postgres; unset it (or set 0) in ephemeral mode",
        );
    }
    partitions
}

/// An admin key shorter than [`defaults::ADMIN_API_KEY_MIN_CHARS`] is a problem; its length is
/// said, never the key.
fn admin_key_length(r: &mut Reader, name: &str, key: Option<&SecretString>) {
    use secrecy::ExposeSecret;
    let Some(key) = key else { return };
    let length = key.expose_secret().chars().count();
    if length < defaults::ADMIN_API_KEY_MIN_CHARS {
        r.problem(
            name,
            format!(
                "is {length} characters long; use at least {} random characters (e.g. `openssl rand -hex 24`): it guards restarts and the clock",
                defaults::ADMIN_API_KEY_MIN_CHARS
            ),
        );
    }
}
