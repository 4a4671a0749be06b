//! `PgStore::connect` with libpq's URL parameters: what it accepts, and errors that name the
//! problem without the password.

use alfred_actors::store::postgres::PgStore;

const PASSWORD: &str = "hunter2-secret";

fn connect_error(url: &str) -> String {
    match PgStore::connect(url) {
        Ok(_) => panic!("{url} is refused"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn libpq_tls_parameters_are_accepted_and_the_rest_goes_to_tokio_postgres() {
    for tls in [
        "sslmode=disable",
        "sslmode=prefer",
        "sslmode=require",
        "sslmode=verify-full&sslrootcert=system",
        "sslmode=verify-ca&sslsni=1&application_name=alfred-test",
    ] {
        let url = format!("postgres://alfred:{PASSWORD}@db.example:5432/alfred?{tls}");
        assert!(PgStore::connect(&url).is_ok(), "{tls}");
    }
}

#[test]
fn an_unreadable_sslrootcert_names_the_parameter_and_the_path_not_the_password() {
    let error = connect_error(&format!(
        "postgres://alfred:{PASSWORD}@db/alfred?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"
    ));
    assert!(error.contains("DATABASE_URL"), "{error}");
    assert!(error.contains("sslrootcert /nonexistent/ca.pem"), "{error}");
    assert!(!error.contains(PASSWORD), "{error}");
}

#[test]
fn an_invalid_option_is_named_without_the_password() {
    let error = connect_error(&format!(
        "postgres://alfred:{PASSWORD}@db/alfred?connect_timeout=soon"
    ));
    assert!(error.contains("connect_timeout"), "{error}");
    assert!(!error.contains(PASSWORD), "{error}");
    let error = connect_error(&format!(
        "postgres://alfred:{PASSWORD}@db/alfred?sslcert=client.pem"
    ));
    assert!(error.contains("sslcert is not supported"), "{error}");
    assert!(!error.contains(PASSWORD), "{error}");
}
