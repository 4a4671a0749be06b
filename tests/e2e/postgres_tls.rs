//! Postgres over TLS: `DATABASE_URL`'s `sslmode` and `sslrootcert`, against private servers
//! whose certificates come from a test CA.

use alfred::app::App;
use alfred_testkit::postgres::{PrivatePostgres, ServerTls};
use alfred_testkit::whatsapp;

use crate::helpers::*;

/// Never asked for (the private servers trust), and so never to be seen in an error.
const PASSWORD: &str = "pw-never-printed";

/// `DATABASE_URL` for `database` on `postgres` by `host`, with the query `tls`.
fn database_url(postgres: &PrivatePostgres, host: &str, database: &str, tls: &str) -> String {
    format!(
        "postgres://postgres:{PASSWORD}@{host}:{}/{database}?{tls}",
        postgres.port()
    )
}

/// Builds an Alfred on `backends` with `DATABASE_URL` set to `url`; the start-up error, if any.
async fn start_up_error(backends: &Backends, url: String) -> Option<String> {
    let settings = backends.settings(&[("DATABASE_URL", url)]);
    App::build_with(settings, Vec::new())
        .await
        .err()
        .map(|error| format!("{error:#}"))
}

#[actix_rt::test]
async fn over_verify_full_a_whatsapp_message_is_answered_and_every_connection_is_encrypted() {
    let postgres = PrivatePostgres::start_tls(ServerTls::for_names(&["localhost"]));
    let backends = Backends::on_postgres(&postgres.url()).await;
    let tls = format!(
        "sslmode=verify-full&sslrootcert={}",
        postgres.ca_file().display()
    );
    let url = database_url(&postgres, "localhost", backends.db.name(), &tls);
    let app = TestApp::spawn_on(backends, &[("DATABASE_URL", url)], Vec::new()).await;
    let body = whatsapp::text_message(PHONE_ID, "15550007001", "Tess", "wamid.TLS1", "add tea");

    let response = app.post_signed(&body).await;

    assert_eq!(response.status(), 200);
    let sends = app.backends.graph.wait_for_requests(1, DEADLINE).await;
    assert_eq!(sends[0].body["context"]["message_id"], "wamid.TLS1");
    let client = app.backends.pg().await;
    let row = client
        .query_one(
            "SELECT count(*) FILTER (WHERE s.ssl), count(*) \
             FROM pg_stat_activity a JOIN pg_stat_ssl s ON s.pid = a.pid \
             WHERE a.datname = $1 AND a.application_name = 'alfred'",
            &[&app.backends.db.name()],
        )
        .await
        .unwrap();
    let (encrypted, all): (i64, i64) = (row.get(0), row.get(1));
    assert!(all > 0, "Alfred holds connections");
    assert_eq!(encrypted, all, "every connection of Alfred's is encrypted");
}

#[actix_rt::test]
async fn verify_full_refuses_start_up_when_the_certificate_is_for_another_host_name() {
    let postgres = PrivatePostgres::start_tls(ServerTls::for_names(&["localhost"]));
    let backends = Backends::on_postgres(&postgres.url()).await;
    let tls = format!(
        "sslmode=verify-full&sslrootcert={}",
        postgres.ca_file().display()
    );
    let url = database_url(&postgres, "127.0.0.1", backends.db.name(), &tls);

    let error = start_up_error(&backends, url)
        .await
        .expect("start-up fails");

    assert!(error.contains("DATABASE_URL"), "{error}");
    assert!(
        error.contains("not valid for the host name 127.0.0.1"),
        "{error}"
    );
    assert!(!error.contains(PASSWORD), "{error}");
}

#[actix_rt::test]
async fn verify_ca_accepts_a_certificate_for_another_host_name_from_the_trusted_ca() {
    let postgres = PrivatePostgres::start_tls(ServerTls::for_names(&["localhost"]));
    let backends = Backends::on_postgres(&postgres.url()).await;
    let tls = format!(
        "sslmode=verify-ca&sslrootcert={}",
        postgres.ca_file().display()
    );
    let url = database_url(&postgres, "127.0.0.1", backends.db.name(), &tls);

    let error = start_up_error(&backends, url).await;

    assert_eq!(error, None);
}

#[actix_rt::test]
async fn a_certificate_from_another_ca_refuses_start_up_naming_sslrootcert() {
    let postgres = PrivatePostgres::start_tls(ServerTls::for_names(&["localhost", "127.0.0.1"]));
    let backends = Backends::on_postgres(&postgres.url()).await;
    let other_ca = postgres.other_ca_file();
    // `require` with a root certificate checks the chain, as libpq does.
    let tls = format!("sslmode=require&sslrootcert={}", other_ca.display());
    let url = database_url(&postgres, "127.0.0.1", backends.db.name(), &tls);

    let error = start_up_error(&backends, url)
        .await
        .expect("start-up fails");

    assert!(error.contains("DATABASE_URL"), "{error}");
    assert!(
        error.contains("not signed by a trusted certificate authority"),
        "{error}"
    );
    assert!(
        error.contains(&format!("sslrootcert {}", other_ca.display())),
        "{error}"
    );
    assert!(!error.contains(PASSWORD), "{error}");
}

#[actix_rt::test]
async fn an_expired_certificate_refuses_start_up() {
    let postgres = PrivatePostgres::start_tls(ServerTls {
        names: vec!["localhost".to_owned()],
        expired: true,
    });
    let backends = Backends::on_postgres(&postgres.url()).await;
    let tls = format!(
        "sslmode=verify-full&sslrootcert={}",
        postgres.ca_file().display()
    );
    let url = database_url(&postgres, "localhost", backends.db.name(), &tls);

    let error = start_up_error(&backends, url)
        .await
        .expect("start-up fails");

    assert!(error.contains("DATABASE_URL"), "{error}");
    assert!(error.contains("certificate has expired"), "{error}");
}

#[actix_rt::test]
async fn sslmode_require_refuses_a_server_without_tls() {
    let postgres = PrivatePostgres::start();
    let backends = Backends::on_postgres(&postgres.url()).await;
    let url = database_url(
        &postgres,
        "127.0.0.1",
        backends.db.name(),
        "sslmode=require",
    );

    let error = start_up_error(&backends, url)
        .await
        .expect("start-up fails");

    assert!(error.contains("DATABASE_URL"), "{error}");
    assert!(error.contains("does not offer TLS"), "{error}");
    assert!(!error.contains(PASSWORD), "{error}");
}

#[actix_rt::test]
async fn sslmode_require_encrypts_without_checking_whose_certificate_it_is() {
    let postgres = PrivatePostgres::start_tls(ServerTls::for_names(&["db.example"]));
    let backends = Backends::on_postgres(&postgres.url()).await;
    let url = database_url(
        &postgres,
        "127.0.0.1",
        backends.db.name(),
        "sslmode=require",
    );

    let error = start_up_error(&backends, url).await;

    assert_eq!(error, None);
}

#[actix_rt::test]
async fn verify_full_without_sslrootcert_trusts_only_the_public_web_roots() {
    let postgres = PrivatePostgres::start_tls(ServerTls::for_names(&["localhost"]));
    let backends = Backends::on_postgres(&postgres.url()).await;
    let url = database_url(
        &postgres,
        "localhost",
        backends.db.name(),
        "sslmode=verify-full",
    );

    let error = start_up_error(&backends, url)
        .await
        .expect("start-up fails");

    assert!(
        error.contains("not signed by a trusted certificate authority"),
        "{error}"
    );
    assert!(error.contains("public web PKI roots"), "{error}");
    assert!(error.contains("sslrootcert=<path>"), "{error}");
}

#[actix_rt::test]
async fn sslmode_prefer_falls_back_to_plain_on_a_server_without_tls() {
    let postgres = PrivatePostgres::start();
    let backends = Backends::on_postgres(&postgres.url()).await;
    let url = database_url(&postgres, "127.0.0.1", backends.db.name(), "sslmode=prefer");

    let error = start_up_error(&backends, url).await;

    assert_eq!(error, None);
}
