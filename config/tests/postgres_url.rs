//! `DATABASE_URL`'s libpq TLS parameters and `DATABASE_STATEMENT_CACHE` (issue 9).

mod common;

use alfred_config::ExposeSecret;
use common::{fail, load};

const REDIS: (&str, &str) = ("REDIS_URL", "redis://127.0.0.1:6379/0");

#[test]
fn a_url_with_sslmode_and_a_readable_sslrootcert_is_accepted_as_given() {
    let ca = std::env::temp_dir().join(format!("alfred-config-ca-{}.pem", std::process::id()));
    std::fs::write(&ca, "not checked here").unwrap();
    let url = format!(
        "postgres://alfred:pw@db:5432/alfred?sslmode=verify-full&sslrootcert={}",
        ca.display()
    );
    let s = load(&[REDIS, ("DATABASE_URL", &url)]);
    let stores = s.stores.unwrap();
    assert_eq!(stores.database_url.expose_secret(), url);
    let _ = std::fs::remove_file(ca);
}

#[test]
fn an_unreadable_sslrootcert_is_a_configuration_error_naming_database_url_and_the_path() {
    let err = fail(&[
        REDIS,
        (
            "DATABASE_URL",
            "postgres://alfred:hunter2@db/alfred?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem",
        ),
    ]);
    assert_eq!(err.problems.len(), 1);
    assert_eq!(err.problems[0].variable, "DATABASE_URL");
    let message = &err.problems[0].message;
    assert!(
        message.contains("sslrootcert /nonexistent/ca.pem"),
        "{message}"
    );
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn an_unknown_sslmode_is_a_configuration_error_without_the_password() {
    let err = fail(&[
        REDIS,
        (
            "DATABASE_URL",
            "postgres://alfred:hunter2@db/alfred?sslmode=always",
        ),
    ]);
    assert_eq!(err.problems[0].variable, "DATABASE_URL");
    assert!(err.problems[0].message.contains("sslmode=always"));
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn the_statement_cache_is_on_by_default_and_off_for_a_transaction_pooler() {
    let database = ("DATABASE_URL", "postgres://alfred@db:6543/alfred");
    assert!(
        load(&[REDIS, database])
            .stores
            .unwrap()
            .database_statement_cache
    );
    let off = load(&[REDIS, database, ("DATABASE_STATEMENT_CACHE", "off")]);
    assert!(!off.stores.unwrap().database_statement_cache);
    let err = fail(&[REDIS, database, ("DATABASE_STATEMENT_CACHE", "sometimes")]);
    assert_eq!(err.problems[0].variable, "DATABASE_STATEMENT_CACHE");
}
