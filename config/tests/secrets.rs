//! Secrets: `_FILE` handling, and that no secret value reaches `Debug` or an error message.

mod common;

use alfred_config::{ExposeSecret, LlmProvider, SECRET_VARIABLES};
use common::{fail, load, TempFile, WHATSAPP};

#[test]
fn a_store_url_with_the_wrong_scheme_is_rejected_without_echoing_its_password() {
    let err = fail(&[
        ("REDIS_URL", "http://user:hunter2@cache"),
        ("DATABASE_URL", "mysql://user:hunter3@db"),
    ]);
    assert!(err.names("REDIS_URL") && err.names("DATABASE_URL"));
    let shown = err.to_string();
    assert!(
        !shown.contains("hunter2") && !shown.contains("hunter3"),
        "{shown}"
    );
}

#[test]
fn a_secret_can_come_from_a_file_losing_exactly_one_trailing_newline() {
    let key = TempFile::with(b"admin-key-from-a-file\n\n");
    let s = load(&[("ADMIN_API_KEY_FILE", key.path())]);
    assert!(s.admin_enabled());
    assert_eq!(
        s.admin_api_key.unwrap().expose_secret(),
        "admin-key-from-a-file\n"
    );

    let crlf = TempFile::with(b"token\r\n");
    let mut pairs = WHATSAPP.to_vec();
    pairs.retain(|(k, _)| *k != "META_TOKEN");
    pairs.push(("META_TOKEN_FILE", crlf.path()));
    assert_eq!(
        load(&pairs).whatsapp.unwrap().token.expose_secret(),
        "token"
    );
}

#[test]
fn every_secret_accepts_a_file() {
    let content = |name: &str| match name {
        "REDIS_URL" => "redis://:from-file@cache".to_owned(),
        "DATABASE_URL" => "postgres://u:from-file@db/alfred".to_owned(),
        "SLACK_APP_TOKEN" => "xapp-from-file".to_owned(),
        other => format!("{other}-from-file"),
    };
    let files: Vec<(String, TempFile)> = SECRET_VARIABLES
        .iter()
        .map(|name| {
            let file = TempFile::with(format!("{}\n", content(name)).as_bytes());
            (format!("{name}_FILE"), file)
        })
        .collect();
    let mut pairs: Vec<(&str, &str)> = files.iter().map(|(k, f)| (k.as_str(), f.path())).collect();
    pairs.push(("PHONE_ID", "42"));
    // Slack is Biz-only; every other secret is allowed there too.
    pairs.push(("INSTANCE", "biz"));
    pairs.push(("IMAP_HOST", "imap.example.com"));
    pairs.push(("IMAP_USER", "owner@example.com"));
    pairs.push(("INBOX_READERS", "U024BE7LH"));
    pairs.push(("TRANSCRIBE_URL", "http://whisper:8000/v1"));

    let s = load(&pairs);
    let stores = s.stores.unwrap();
    let wa = s.whatsapp.unwrap();
    let slack = s.slack.unwrap();
    let imap = s.imap.unwrap();
    let transcribe_key = s.transcribe.and_then(|t| t.api_key).unwrap();
    let Some(LlmProvider::OpenAi { api_key, .. }) = s.llm.map(|l| l.provider) else {
        panic!("OPENAI_API_KEY_FILE did not configure OpenAI");
    };
    let read = [
        ("ADMIN_API_KEY", s.admin_api_key.unwrap()),
        ("ADMIN_READONLY_KEY", s.admin_readonly_key.unwrap()),
        ("REDIS_URL", stores.redis_url),
        ("DATABASE_URL", stores.database_url),
        ("META_TOKEN", wa.token),
        ("VERIFY_TOKEN", wa.verify_token),
        ("APP_SECRET", wa.app_secret),
        ("SLACK_BOT_TOKEN", slack.bot_token),
        ("SLACK_SIGNING_SECRET", slack.signing_secret.unwrap()),
        ("SLACK_APP_TOKEN", slack.app_token.unwrap()),
        ("OPENAI_API_KEY", api_key),
        ("IMAP_PASSWORD", imap.password),
        ("TRANSCRIBE_API_KEY", transcribe_key),
    ];
    assert_eq!(read.len(), SECRET_VARIABLES.len());
    for (name, secret) in read {
        assert_eq!(secret.expose_secret(), content(name), "{name}");
    }
}

#[test]
fn giving_a_secret_both_inline_and_as_a_file_is_an_error() {
    let file = TempFile::with(b"key");
    let err = fail(&[
        ("ADMIN_API_KEY", "key"),
        ("ADMIN_API_KEY_FILE", file.path()),
    ]);
    assert_eq!(err.problems.len(), 1);
    assert_eq!(err.problems[0].variable, "ADMIN_API_KEY");
    assert!(err.problems[0].message.contains("ADMIN_API_KEY_FILE"));
}

#[test]
fn an_unreadable_secret_file_names_the_variable_and_path_but_not_the_content() {
    let err = fail(&[("APP_SECRET_FILE", "/nonexistent/alfred/app_secret")]);
    let p = err.problems_for("APP_SECRET_FILE").next().unwrap();
    assert!(p.message.contains("/nonexistent/alfred/app_secret"), "{p}");

    let not_text = TempFile::with(b"s3cr3t-prefix\xff\xfe");
    let err = fail(&[("ADMIN_API_KEY_FILE", not_text.path())]);
    let p = err.problems_for("ADMIN_API_KEY_FILE").next().unwrap();
    assert!(p.message.contains(not_text.path()));
    assert!(!err.to_string().contains("s3cr3t"), "{err}");

    let empty = TempFile::with(b"\n");
    assert!(fail(&[("ADMIN_API_KEY_FILE", empty.path())]).names("ADMIN_API_KEY_FILE"));
}

#[test]
fn debug_of_settings_never_shows_a_secret_value() {
    let s = load(&[
        ("INSTANCE", "biz"),
        ("ADMIN_API_KEY", "secret-admin-key-value"),
        ("REDIS_URL", "redis://:secret-redis@cache"),
        ("DATABASE_URL", "postgres://u:secret-db@db/a"),
        ("META_TOKEN", "secret-meta"),
        ("PHONE_ID", "42"),
        ("VERIFY_TOKEN", "secret-verify"),
        ("APP_SECRET", "secret-app"),
        ("SLACK_BOT_TOKEN", "secret-slack-bot"),
        ("SLACK_SIGNING_SECRET", "secret-slack-signing"),
        ("OPENAI_API_KEY", "secret-openai"),
    ]);
    let shown = format!("{s:?} {s:#?} {}", s.summary());
    assert!(!shown.contains("secret-"), "{shown}");
    assert!(shown.contains("[REDACTED]"));
    assert!(
        shown.contains("\"42\""),
        "non-secrets stay visible: {shown}"
    );
}

#[test]
fn a_short_admin_api_key_is_refused_without_showing_it() {
    let err = fail(&[("ADMIN_API_KEY", "hunter2")]);
    let p = err.problems_for("ADMIN_API_KEY").next().unwrap();
    assert!(p.message.contains("7 characters"), "{}", p.message);
    assert!(p.message.contains("at least 16"), "{}", p.message);
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(load(&[("ADMIN_API_KEY", "0123456789abcdef")]).admin_enabled());
}

#[test]
fn the_read_only_admin_key_follows_the_admin_key_rules_and_must_differ_from_it() {
    let admin = ("ADMIN_API_KEY", "0123456789abcdef");
    let short = fail(&[admin, ("ADMIN_READONLY_KEY", "hunter2")]);
    let same = fail(&[admin, ("ADMIN_READONLY_KEY", "0123456789abcdef")]);
    let alone = fail(&[("ADMIN_READONLY_KEY", "fedcba9876543210")]);

    let short_problem = short.problems_for("ADMIN_READONLY_KEY").next().unwrap();
    assert!(
        short_problem.message.contains("7 characters"),
        "{}",
        short_problem.message
    );
    assert!(!short.to_string().contains("hunter2"), "{short}");
    assert!(same
        .problems_for("ADMIN_READONLY_KEY")
        .next()
        .unwrap()
        .message
        .contains("same as ADMIN_API_KEY"));
    assert!(!same.to_string().contains("0123456789abcdef"), "{same}");
    assert!(alone
        .problems_for("ADMIN_READONLY_KEY")
        .next()
        .unwrap()
        .message
        .contains("without ADMIN_API_KEY"));
    let both = load(&[admin, ("ADMIN_READONLY_KEY", "fedcba9876543210")]);
    assert_eq!(
        both.admin_readonly_key.unwrap().expose_secret(),
        "fedcba9876543210"
    );
}
