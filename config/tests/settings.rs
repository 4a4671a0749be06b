//! Loading and validating settings: defaults and each rule of DESIGN.md §6.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use alfred_config::{ExposeSecret, Instance, LlmProvider, LogFormat, SECRET_VARIABLES, VARIABLES};
use common::{fail, load, WHATSAPP};

#[test]
fn no_configuration_at_all_starts_home_in_ephemeral_mode_with_documented_defaults() {
    let s = load(&[]);
    assert_eq!(s.instance, Instance::Home);
    assert!(s.is_ephemeral());
    assert!(!s.admin_enabled());
    assert!(!s.has_channels());
    assert!(s.whatsapp.is_none() && s.slack.is_none() && s.llm.is_none());
    assert_eq!(s.http_addr, "0.0.0.0:8000".parse::<SocketAddr>().unwrap());
    assert_eq!(
        s.admin_addr,
        "127.0.0.1:8001".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(s.redis_key_prefix, "");
    assert!(s.outbound_enabled);
    assert!(s.otlp_endpoint.is_none());
    // The terminal decides when logging starts (alfred::telemetry::LogStyle::for_format).
    assert_eq!(s.log_format, LogFormat::Auto);
    let t = &s.tuning;
    assert_eq!(t.webhook_body_limit, 1_048_576);
    assert_eq!(t.ingest_readers, 1);
    assert_eq!(t.ingest_batch, 100);
    assert_eq!(t.ingest_claim_idle, Duration::from_millis(30_000));
    assert_eq!(t.ingest_max_deliveries, 5);
    assert_eq!(t.outbox_batch, 100);
    assert_eq!(t.outbox_claim_idle, Duration::from_millis(30_000));
    assert_eq!(t.outbox_max_deliveries, 5);
    assert_eq!(t.outbound_max_attempts, 8);
    assert_eq!(t.outbound_timeout, Duration::from_millis(10_000));
    assert_eq!(t.relay_interval, Duration::from_millis(1_000));
    assert_eq!(
        s.summary(),
        "instance=home mode=ephemeral whatsapp=off slack=off imap=off llm=off transcribe=off admin=off outbound=on"
    );
}

#[test]
fn empty_values_count_as_unset() {
    let s = load(&[("INSTANCE", ""), ("REDIS_URL", ""), ("META_TOKEN", "")]);
    assert_eq!(s.instance, Instance::Home);
    assert!(s.is_ephemeral());
    assert!(s.whatsapp.is_none());
}

#[test]
fn instance_accepts_home_and_biz_and_names_instance_for_anything_else() {
    assert_eq!(load(&[("INSTANCE", "biz")]).instance, Instance::Biz);
    assert_eq!(load(&[("INSTANCE", " Home ")]).instance, Instance::Home);
    let err = fail(&[("INSTANCE", "work")]);
    assert_eq!(err.problems.len(), 1);
    assert_eq!(err.problems[0].variable, "INSTANCE");
    assert!(err.problems[0].message.contains("home or biz"));
}

#[test]
fn listen_addresses_are_parsed_and_garbage_names_the_variable() {
    let s = load(&[("HTTP_ADDR", "127.0.0.1:0"), ("ADMIN_ADDR", "[::1]:9001")]);
    assert_eq!(s.http_addr.port(), 0);
    assert_eq!(s.admin_addr, "[::1]:9001".parse::<SocketAddr>().unwrap());
    let err = fail(&[("HTTP_ADDR", "localhost"), ("ADMIN_ADDR", "1.2.3.4:99999")]);
    assert!(err.names("HTTP_ADDR") && err.names("ADMIN_ADDR"));
}

#[test]
fn tuning_numbers_are_read_and_zero_or_garbage_is_rejected_by_name() {
    let s = load(&[
        ("WEBHOOK_BODY_LIMIT", "2048"),
        ("INGEST_READERS", "4"),
        ("INGEST_BATCH", "10"),
        ("INGEST_CLAIM_IDLE_MS", "500"),
        ("INGEST_MAX_DELIVERIES", "3"),
        ("OUTBOX_BATCH", "7"),
        ("OUTBOX_CLAIM_IDLE_MS", "900"),
        ("OUTBOX_MAX_DELIVERIES", "4"),
        ("OUTBOUND_MAX_ATTEMPTS", "2"),
        ("OUTBOUND_TIMEOUT_MS", "250"),
        ("RELAY_INTERVAL_MS", "20"),
    ]);
    assert_eq!(s.tuning.webhook_body_limit, 2048);
    assert_eq!(s.tuning.ingest_readers, 4);
    assert_eq!(s.tuning.ingest_batch, 10);
    assert_eq!(s.tuning.ingest_claim_idle, Duration::from_millis(500));
    assert_eq!(s.tuning.ingest_max_deliveries, 3);
    assert_eq!(s.tuning.outbox_batch, 7);
    assert_eq!(s.tuning.outbox_claim_idle, Duration::from_millis(900));
    assert_eq!(s.tuning.outbox_max_deliveries, 4);
    assert_eq!(s.tuning.outbound_max_attempts, 2);
    assert_eq!(s.tuning.outbound_timeout, Duration::from_millis(250));
    assert_eq!(s.tuning.relay_interval, Duration::from_millis(20));

    let names = [
        "WEBHOOK_BODY_LIMIT",
        "INGEST_READERS",
        "INGEST_BATCH",
        "INGEST_CLAIM_IDLE_MS",
        "INGEST_MAX_DELIVERIES",
        "OUTBOX_BATCH",
        "OUTBOX_CLAIM_IDLE_MS",
        "OUTBOX_MAX_DELIVERIES",
        "OUTBOUND_MAX_ATTEMPTS",
        "OUTBOUND_TIMEOUT_MS",
        "RELAY_INTERVAL_MS",
    ];
    for bad in ["0", "-1", "ten", "1.5"] {
        let pairs: Vec<(&str, &str)> = names.iter().map(|n| (*n, bad)).collect();
        let err = fail(&pairs);
        for name in names {
            assert!(err.names(name), "{name}={bad} was not reported: {err}");
        }
    }
}

#[test]
fn outbound_enabled_accepts_the_usual_spellings_of_a_boolean() {
    for (raw, expected) in [
        ("true", true),
        ("TRUE", true),
        ("1", true),
        ("yes", true),
        ("false", false),
        ("False", false),
        ("0", false),
        ("no", false),
    ] {
        assert_eq!(
            load(&[("OUTBOUND_ENABLED", raw)]).outbound_enabled,
            expected,
            "{raw}"
        );
    }
    assert!(fail(&[("OUTBOUND_ENABLED", "maybe")]).names("OUTBOUND_ENABLED"));
}

#[test]
fn log_format_is_json_pretty_or_auto() {
    assert_eq!(load(&[("LOG_FORMAT", "auto")]).log_format, LogFormat::Auto);
    assert_eq!(load(&[("LOG_FORMAT", "")]).log_format, LogFormat::Auto);
    assert_eq!(
        load(&[("LOG_FORMAT", "pretty")]).log_format,
        LogFormat::Pretty
    );
    assert_eq!(load(&[("LOG_FORMAT", "JSON")]).log_format, LogFormat::Json);
    assert!(fail(&[("LOG_FORMAT", "xml")]).names("LOG_FORMAT"));
}

#[test]
fn both_store_urls_make_the_process_durable() {
    let s = load(&[
        ("REDIS_URL", "redis://:pw@127.0.0.1:6379/0"),
        ("DATABASE_URL", "postgres://alfred:pw@db/alfred"),
        ("REDIS_KEY_PREFIX", "t1:"),
    ]);
    assert!(!s.is_ephemeral());
    let stores = s.stores.unwrap();
    assert_eq!(
        stores.redis_url.expose_secret(),
        "redis://:pw@127.0.0.1:6379/0"
    );
    assert_eq!(
        stores.database_url.expose_secret(),
        "postgres://alfred:pw@db/alfred"
    );
    assert_eq!(s.redis_key_prefix, "t1:");
}

#[test]
fn a_redis_url_listing_nodes_is_a_cluster_whose_nodes_share_one_tcp_scheme() {
    let cluster = "redis://:pw@10.0.0.1:7000,redis://:pw@10.0.0.2:7000, redis://:pw@10.0.0.3:7000";
    let s = load(&[
        ("REDIS_URL", cluster),
        ("DATABASE_URL", "postgres://alfred:pw@db/alfred"),
    ]);
    assert_eq!(s.stores.unwrap().redis_url.expose_secret(), cluster);
    for mixed in [
        "redis://10.0.0.1:7000,rediss://10.0.0.2:7000",
        "redis://10.0.0.1:7000,unix:///run/redis.sock",
        "redis://10.0.0.1:7000,10.0.0.2:7000",
    ] {
        let err = fail(&[
            ("REDIS_URL", mixed),
            ("DATABASE_URL", "postgres://alfred:pw@db/alfred"),
        ]);
        assert!(err.names("REDIS_URL"), "{mixed}: {err}");
        // The URL may hold a password: the message never quotes it.
        assert!(!err.to_string().contains("10.0.0.1"), "{err}");
    }
}

#[test]
fn one_store_url_alone_is_an_error_naming_the_missing_one() {
    let err = fail(&[("REDIS_URL", "redis://127.0.0.1")]);
    assert_eq!(err.problems.len(), 1);
    assert_eq!(err.problems[0].variable, "DATABASE_URL");
    let err = fail(&[("DATABASE_URL", "postgres://db/alfred")]);
    assert_eq!(err.problems.len(), 1);
    assert_eq!(err.problems[0].variable, "REDIS_URL");
}

#[test]
fn whatsapp_is_configured_only_when_all_four_variables_are_set() {
    let s = load(WHATSAPP);
    let wa = s.whatsapp.as_ref().unwrap();
    assert!(s.has_channels());
    assert_eq!(wa.token.expose_secret(), "meta-token-value");
    assert_eq!(wa.phone_id, "1234567890");
    assert_eq!(wa.verify_token.expose_secret(), "verify-token-value");
    assert_eq!(wa.app_secret.expose_secret(), "app-secret-value");
    assert_eq!(
        wa.messages_url(),
        "https://graph.facebook.com/v21.0/1234567890/messages"
    );
}

#[test]
fn a_partial_whatsapp_configuration_names_each_missing_variable() {
    let err = fail(&[("META_TOKEN", "t"), ("APP_SECRET", "s")]);
    let named: Vec<&str> = err.problems.iter().map(|p| p.variable.as_str()).collect();
    assert_eq!(named, ["PHONE_ID", "VERIFY_TOKEN"]);
}

#[test]
fn graph_api_url_and_version_can_point_at_a_local_fake() {
    let mut pairs = WHATSAPP.to_vec();
    pairs.extend([
        ("GRAPH_API_URL", "http://127.0.0.1:4010/"),
        ("GRAPH_API_VERSION", "v19.0"),
    ]);
    let wa = load(&pairs).whatsapp.unwrap();
    assert_eq!(
        wa.messages_url(),
        "http://127.0.0.1:4010/v19.0/1234567890/messages"
    );

    let err = fail(&[
        ("GRAPH_API_URL", "graph.facebook.com"),
        ("GRAPH_API_VERSION", "21"),
    ]);
    assert!(err.names("GRAPH_API_URL") && err.names("GRAPH_API_VERSION"));
}

#[test]
fn slack_needs_both_its_secrets_and_defaults_its_api_url() {
    let s = load(&[
        ("INSTANCE", "biz"),
        ("SLACK_BOT_TOKEN", "xoxb-1"),
        ("SLACK_SIGNING_SECRET", "sign"),
    ]);
    let slack = s.slack.unwrap();
    assert_eq!(slack.api_url, "https://slack.com/api");
    assert_eq!(slack.bot_token.expose_secret(), "xoxb-1");
    let err = fail(&[("INSTANCE", "biz"), ("SLACK_BOT_TOKEN", "xoxb-1")]);
    assert_eq!(err.problems.len(), 1);
    assert_eq!(err.problems[0].variable, "SLACK_SIGNING_SECRET");
}

#[test]
fn slack_socket_mode_needs_an_app_token_and_no_signing_secret() {
    let s = load(&[
        ("INSTANCE", "biz"),
        ("SLACK_BOT_TOKEN", "xoxb-1"),
        ("SLACK_APP_TOKEN", "xapp-1-A0APP-1-abc"),
    ]);
    let slack = s.slack.unwrap();
    assert!(slack.signing_secret.is_none());
    assert_eq!(
        slack.app_token.unwrap().expose_secret(),
        "xapp-1-A0APP-1-abc"
    );

    let err = fail(&[
        ("INSTANCE", "biz"),
        ("SLACK_BOT_TOKEN", "xoxb-1"),
        ("SLACK_APP_TOKEN", "xoxb-not-an-app-token"),
    ]);
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!(err.problems[0].variable, "SLACK_APP_TOKEN");
    assert!(err.problems[0].message.contains("xapp-"), "{err}");
    assert!(!err.to_string().contains("xoxb-not"), "{err}");

    let err = fail(&[("INSTANCE", "biz"), ("SLACK_APP_TOKEN", "xapp-1")]);
    assert_eq!(err.problems.len(), 1, "{err}");
    assert_eq!(err.problems[0].variable, "SLACK_BOT_TOKEN");
}

#[test]
fn the_llm_is_ollama_or_openai_with_provider_defaults() {
    let llm = load(&[("OLLAMA_URL", "http://127.0.0.1:11434")])
        .llm
        .unwrap();
    assert!(
        matches!(&llm.provider, LlmProvider::Ollama { url } if url == "http://127.0.0.1:11434")
    );
    assert_eq!(llm.model, "llama3.2");
    assert_eq!(llm.timeout, Duration::from_millis(8_000));

    let llm = load(&[("OPENAI_API_KEY", "sk-1"), ("LLM_MODEL", "m")])
        .llm
        .unwrap();
    match &llm.provider {
        LlmProvider::OpenAi { api_key, base_url } => {
            assert_eq!(api_key.expose_secret(), "sk-1");
            assert_eq!(base_url, "https://api.openai.com/v1");
        }
        other => panic!("expected OpenAI, got {other:?}"),
    }
    assert_eq!(llm.model, "m");
}

#[test]
fn the_llm_timeout_is_configurable_and_must_be_positive() {
    let llm = load(&[
        ("OLLAMA_URL", "http://127.0.0.1:11434"),
        ("LLM_TIMEOUT_MS", "300"),
    ])
    .llm
    .unwrap();
    assert_eq!(llm.timeout, Duration::from_millis(300));
    let err = fail(&[
        ("OLLAMA_URL", "http://127.0.0.1:11434"),
        ("LLM_TIMEOUT_MS", "0"),
    ]);
    assert_eq!(err.problems.len(), 1);
    assert_eq!(err.problems[0].variable, "LLM_TIMEOUT_MS");
}

#[test]
fn ambiguous_or_orphaned_llm_settings_are_errors() {
    assert!(fail(&[("OLLAMA_URL", "http://o"), ("OPENAI_API_KEY", "k")]).names("OLLAMA_URL"));
    assert!(fail(&[("OPENAI_BASE_URL", "http://o")]).names("OPENAI_API_KEY"));
    assert!(fail(&[("LLM_MODEL", "m")]).names("LLM_MODEL"));
    assert!(fail(&[("OLLAMA_URL", "localhost:11434")]).names("OLLAMA_URL"));
}

#[test]
fn otel_endpoint_is_taken_when_it_is_a_url() {
    let s = load(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")]);
    assert_eq!(s.otlp_endpoint.as_deref(), Some("http://collector:4318"));
    assert!(
        fail(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector")]).names("OTEL_EXPORTER_OTLP_ENDPOINT")
    );
}

#[test]
fn every_problem_is_reported_at_once_one_line_each() {
    let err = fail(&[
        ("INSTANCE", "office"),
        ("HTTP_ADDR", "nowhere"),
        ("INGEST_BATCH", "0"),
        ("REDIS_URL", "redis://cache"),
        ("SLACK_SIGNING_SECRET", "s"),
    ]);
    let named: Vec<&str> = err.problems.iter().map(|p| p.variable.as_str()).collect();
    assert_eq!(
        named,
        [
            "INSTANCE",
            "HTTP_ADDR",
            "DATABASE_URL",
            "SLACK_BOT_TOKEN",
            "INGEST_BATCH"
        ]
    );
    let shown = err.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines[0], "invalid configuration (5 problems):");
    assert_eq!(lines.len(), 6);
    for (line, variable) in lines[1..].iter().zip(named) {
        assert!(
            line.trim_start().starts_with(&format!("{variable}: ")),
            "{line}"
        );
    }
}

#[test]
fn the_env_template_lists_every_variable() {
    let template = include_str!("../../.env.template");
    for name in VARIABLES {
        let listed = template
            .lines()
            .map(|l| l.trim_start_matches('#').trim_start())
            .any(|l| l.starts_with(&format!("{name}=")));
        assert!(listed, "{name} is missing from .env.template");
    }
    for name in SECRET_VARIABLES {
        assert!(
            VARIABLES.contains(name),
            "{name} is a secret but not a variable"
        );
    }
}

#[test]
fn households_time_zone_invoke_prefixes_and_the_manual_clock_are_read() {
    let dir = std::env::temp_dir().join(format!("alfred-households-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("households.toml");
    std::fs::write(
        &path,
        "[[household]]\nid = \"smiths\"\nmembers = [{ name = \"Dana\", whatsapp = \"4917011111111\" }]\n",
    )
    .unwrap();

    let settings = alfred_config::Settings::from_vars(vec![
        ("HOUSEHOLDS_FILE".to_owned(), path.display().to_string()),
        ("DEFAULT_TIMEZONE".to_owned(), "Europe/Berlin".to_owned()),
        (
            "INVOKE_PREFIXES".to_owned(),
            "@Alfred, hey alfred".to_owned(),
        ),
        ("CLOCK".to_owned(), "manual".to_owned()),
        ("CLOCK_START".to_owned(), "2026-03-29T00:30:00Z".to_owned()),
    ])
    .unwrap();

    assert_eq!(settings.households[0].id, "smiths");
    assert_eq!(
        settings.households[0].timezone,
        chrono_tz::Europe::Berlin,
        "the default time zone applies"
    );
    assert_eq!(settings.invoke_prefixes, vec!["@alfred", "hey alfred"]);
    assert!(
        matches!(settings.clock, alfred_config::ClockSetting::Manual { start } if start.to_rfc3339() == "2026-03-29T00:30:00+00:00")
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_missing_households_file_and_a_bad_clock_start_are_both_reported() {
    let error = alfred_config::Settings::from_vars(vec![
        (
            "HOUSEHOLDS_FILE".to_owned(),
            "/nonexistent/households.toml".to_owned(),
        ),
        ("CLOCK".to_owned(), "manual".to_owned()),
        ("CLOCK_START".to_owned(), "tomorrow".to_owned()),
        ("DEFAULT_TIMEZONE".to_owned(), "Atlantis/Capital".to_owned()),
    ])
    .unwrap_err();

    assert!(error.names("HOUSEHOLDS_FILE"));
    assert!(error.names("CLOCK_START"));
    assert!(error.names("DEFAULT_TIMEZONE"));
}

#[test]
fn a_manual_clock_is_refused_with_durable_stores_naming_the_variables() {
    let error = fail(&[
        ("CLOCK", "manual"),
        ("REDIS_URL", "redis://cache"),
        ("DATABASE_URL", "postgres://db/alfred"),
        ("INGEST_BATCH", "many"),
    ]);

    let clock: Vec<_> = error.problems_for("CLOCK").collect();
    assert_eq!(clock.len(), 1, "{error}");
    assert!(
        clock[0].message.contains("REDIS_URL and DATABASE_URL"),
        "{error}"
    );
    assert!(
        error.names("INGEST_BATCH"),
        "every problem at once: {error}"
    );
}

#[test]
fn a_manual_clock_with_only_database_url_names_both_problems() {
    let error = fail(&[
        ("CLOCK", "manual"),
        ("DATABASE_URL", "postgres://db/alfred"),
    ]);

    assert!(error.names("CLOCK"), "{error}");
    assert!(error.names("REDIS_URL"), "{error}");
}

#[test]
fn a_manual_clock_is_accepted_in_ephemeral_mode() {
    let settings = load(&[("CLOCK", "manual")]);

    assert!(settings.is_ephemeral());
    assert!(matches!(
        settings.clock,
        alfred_config::ClockSetting::Manual { .. }
    ));
}

const IMAP: &[(&str, &str)] = &[
    ("INSTANCE", "biz"),
    ("REDIS_URL", "redis://cache"),
    ("DATABASE_URL", "postgres://db/alfred"),
    ("IMAP_HOST", "imap.example.com"),
    ("IMAP_USER", "owner@example.com"),
    ("IMAP_PASSWORD", "app-password-value"),
    ("INBOX_READERS", "U024BE7LH, U0G9QF9C6"),
];

#[test]
fn the_work_inbox_loads_with_its_defaults() {
    let s = load(IMAP);
    assert!(s.summary().contains("imap=on"));
    let imap = s.imap.unwrap();
    assert_eq!(imap.host, "imap.example.com");
    assert_eq!(imap.port, 993);
    assert_eq!(imap.tls, alfred_config::ImapTls::Implicit);
    assert_eq!(imap.mailbox, "INBOX");
    assert_eq!(imap.readers, ["U024BE7LH", "U0G9QF9C6"]);
    assert_eq!(imap.poll_interval, Duration::from_secs(60));
    assert!(imap.ca_file.is_none());
    assert!(!format!("{imap:?}").contains("app-password-value"));
}

#[test]
fn the_work_inbox_needs_the_durable_stores_readers_and_every_credential() {
    let without = |skip: &[&str]| -> Vec<(&str, &str)> {
        IMAP.iter()
            .copied()
            .filter(|(k, _)| !skip.contains(k))
            .collect()
    };
    let err = fail(&without(&["REDIS_URL", "DATABASE_URL"]));
    assert!(err.to_string().contains("IMAP_HOST"), "{err}");
    assert!(err.to_string().contains("DATABASE_URL"), "{err}");

    let err = fail(&without(&["INBOX_READERS"]));
    assert!(err.to_string().contains("INBOX_READERS"), "{err}");

    let err = fail(&without(&["IMAP_PASSWORD"]));
    assert!(err.to_string().contains("IMAP_PASSWORD"), "{err}");
    assert!(!err.to_string().contains("app-password-value"), "{err}");

    let mut pairs = IMAP.to_vec();
    pairs.push(("IMAP_CA_FILE", "/nonexistent/ca.pem"));
    let err = fail(&pairs);
    assert!(err.to_string().contains("IMAP_CA_FILE"), "{err}");
}

#[test]
fn home_refuses_the_work_inbox() {
    let mut pairs: Vec<(&str, &str)> = IMAP.to_vec();
    pairs[0] = ("INSTANCE", "home");
    let err = fail(&pairs);
    assert!(err.to_string().contains("IMAP_HOST"), "{err}");
    assert!(err.to_string().contains("INBOX_READERS"), "{err}");
}

#[test]
fn retention_defaults_to_30_days_and_refuses_less_than_a_week() {
    let s = load(&[]);
    assert_eq!(s.tuning.retention, Duration::from_secs(30 * 86_400));
    assert_eq!(s.tuning.janitor_interval, Duration::from_secs(3_600));
    assert_eq!(
        load(&[("RETENTION_DAYS", "90")]).tuning.retention,
        Duration::from_secs(90 * 86_400)
    );
    let err = fail(&[("RETENTION_DAYS", "3")]);
    assert!(err.to_string().contains("RETENTION_DAYS"), "{err}");
    assert!(err.to_string().contains("at least 7"), "{err}");
}

#[test]
fn the_claim_idle_time_must_outlast_the_llm_timeout() {
    let err = fail(&[
        ("OLLAMA_URL", "http://ollama:11434"),
        ("LLM_TIMEOUT_MS", "30000"),
        ("INGEST_CLAIM_IDLE_MS", "20000"),
    ]);
    assert!(err.to_string().contains("INGEST_CLAIM_IDLE_MS"), "{err}");
    assert!(err.to_string().contains("LLM_TIMEOUT_MS"), "{err}");
    // Without an LLM the claim idle time is free, and the defaults fit together.
    load(&[("INGEST_CLAIM_IDLE_MS", "400")]);
    load(&[("OLLAMA_URL", "http://ollama:11434")]);
}

#[test]
fn voice_notes_need_transcribe_url_and_whatsapp_and_have_defaults() {
    let mut pairs = WHATSAPP.to_vec();
    pairs.push(("TRANSCRIBE_URL", "http://whisper:8000/v1/"));
    let t = load(&pairs).transcribe.unwrap();
    assert_eq!(t.base_url, "http://whisper:8000/v1");
    assert!(t.api_key.is_none());
    assert_eq!(t.model, "whisper-1");
    assert_eq!(t.max_bytes, 5 * 1024 * 1024);
    assert_eq!(t.timeout, std::time::Duration::from_millis(15_000));

    pairs.push(("TRANSCRIBE_API_KEY", "sk-voice"));
    pairs.push(("TRANSCRIBE_MODEL", "Systran/faster-whisper-small"));
    pairs.push(("TRANSCRIBE_MAX_BYTES", "1000"));
    pairs.push(("TRANSCRIBE_TIMEOUT_MS", "2000"));
    let t = load(&pairs).transcribe.unwrap();
    assert_eq!(t.api_key.unwrap().expose_secret(), "sk-voice");
    assert_eq!(t.model, "Systran/faster-whisper-small");
    assert_eq!(t.max_bytes, 1000);
    assert_eq!(t.timeout, std::time::Duration::from_millis(2000));
    assert!(load(&[]).transcribe.is_none());

    // Orphaned settings, no WhatsApp, a bad URL, a claim time shorter than the wait.
    assert!(fail(&[("TRANSCRIBE_MODEL", "whisper-1")]).names("TRANSCRIBE_MODEL"));
    assert!(fail(&[("TRANSCRIBE_API_KEY", "k")]).names("TRANSCRIBE_API_KEY"));
    assert!(fail(&[("TRANSCRIBE_URL", "http://whisper:8000/v1")]).names("TRANSCRIBE_URL"));
    let mut bad = WHATSAPP.to_vec();
    bad.push(("TRANSCRIBE_URL", "whisper"));
    assert!(fail(&bad).names("TRANSCRIBE_URL"));
    let mut slow = WHATSAPP.to_vec();
    slow.push(("TRANSCRIBE_URL", "http://whisper:8000/v1"));
    slow.push(("INGEST_CLAIM_IDLE_MS", "10000"));
    let err = fail(&slow);
    assert!(err.to_string().contains("TRANSCRIBE_TIMEOUT_MS"), "{err}");
}

#[test]
fn starttls_defaults_to_port_143_and_a_plain_connection_is_not_an_option() {
    let mut pairs = IMAP.to_vec();
    pairs.push(("IMAP_TLS", "STARTTLS"));
    let imap = load(&pairs).imap.unwrap();
    assert_eq!(imap.tls, alfred_config::ImapTls::StartTls);
    assert_eq!(imap.port, 143);

    let mut pairs = IMAP.to_vec();
    pairs.push(("IMAP_TLS", "none"));
    let err = fail(&pairs);
    assert!(err.to_string().contains("IMAP_TLS"), "{err}");
    assert!(err.to_string().contains("implicit or starttls"), "{err}");
}

#[test]
fn per_sender_limits_default_to_a_familys_pace_and_each_can_be_turned_off() {
    use alfred_config::SenderLimits;
    assert_eq!(
        load(&[]).limits,
        SenderLimits {
            rate_per_minute: Some(30),
            burst: 15,
            llm_daily_budget: Some(200),
            max_text_chars: Some(4096),
        }
    );
    let s = load(&[
        ("SENDER_RATE_PER_MINUTE", "60"),
        ("SENDER_BURST", "5"),
        ("LLM_DAILY_BUDGET", "0"),
        ("MAX_TEXT_CHARS", "OFF"),
    ]);
    assert_eq!(s.limits.rate_per_minute, Some(60));
    assert_eq!(s.limits.burst, 5);
    assert_eq!(s.limits.llm_daily_budget, None);
    assert_eq!(s.limits.max_text_chars, None);
    assert_eq!(
        load(&[("SENDER_RATE_PER_MINUTE", "off")])
            .limits
            .rate_per_minute,
        None
    );
}

#[test]
fn a_bad_limit_or_a_burst_without_a_rate_names_the_variable() {
    let err = fail(&[
        ("SENDER_RATE_PER_MINUTE", "-3"),
        ("SENDER_BURST", "0"),
        ("LLM_DAILY_BUDGET", "lots"),
        ("MAX_TEXT_CHARS", "4.5"),
    ]);
    for name in [
        "SENDER_RATE_PER_MINUTE",
        "SENDER_BURST",
        "LLM_DAILY_BUDGET",
        "MAX_TEXT_CHARS",
    ] {
        assert!(err.names(name), "{name} was not reported: {err}");
    }
    let err = fail(&[("SENDER_RATE_PER_MINUTE", "0"), ("SENDER_BURST", "10")]);
    assert!(err.names("SENDER_BURST"), "{err}");
}

#[test]
fn ingest_partitions_are_on_by_default_with_the_durable_stores_and_off_in_ephemeral_mode() {
    let durable = [
        ("REDIS_URL", "redis://cache"),
        ("DATABASE_URL", "postgres://db/alfred"),
    ];
    let ephemeral_defaults = load(&[]);
    let durable_defaults = load(&durable);
    let partitioned = load(&[
        durable[0],
        durable[1],
        ("INGEST_PARTITIONS", "4"),
        ("INGEST_LEASE_MS", "3000"),
    ]);
    let rolled_back = load(&[durable[0], durable[1], ("INGEST_PARTITIONS", "0")]);
    let ephemeral = fail(&[("INGEST_PARTITIONS", "4")]);

    assert_eq!(ephemeral_defaults.tuning.ingest_partitions, 0);
    assert_eq!(durable_defaults.tuning.ingest_partitions, 8);
    assert_eq!(
        durable_defaults.tuning.ingest_lease,
        Duration::from_secs(10)
    );
    assert_eq!(partitioned.tuning.ingest_partitions, 4);
    assert_eq!(partitioned.tuning.ingest_lease, Duration::from_secs(3));
    assert_eq!(
        rolled_back.tuning.ingest_partitions, 0,
        "0 is the single stream"
    );
    assert!(ephemeral.names("INGEST_PARTITIONS"), "{ephemeral}");
}

#[test]
fn with_partitions_the_claim_lease_outlasts_a_partition_move() {
    let durable = [
        ("REDIS_URL", "redis://cache"),
        ("DATABASE_URL", "postgres://db/alfred"),
    ];
    let short = fail(&[
        durable[0],
        durable[1],
        ("INGEST_LEASE_MS", "5000"),
        ("OUTBOUND_CLAIM_LEASE_MS", "8000"),
    ]);
    let single_stream = load(&[
        durable[0],
        durable[1],
        ("INGEST_PARTITIONS", "0"),
        ("INGEST_LEASE_MS", "5000"),
        ("OUTBOUND_CLAIM_LEASE_MS", "8000"),
    ]);

    assert!(short.names("OUTBOUND_CLAIM_LEASE_MS"), "{short}");
    assert_eq!(single_stream.tuning.ingest_partitions, 0);
}
