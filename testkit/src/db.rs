//! A fresh Postgres database per test.
//!
//! [`TestDb::create`] makes an empty database named `alfred_test_<uuid>` on the server of
//! [`test_database_url`] (a superuser URL), so tests run in parallel without seeing each
//! other's rows. [`TestDb::create_migrated`] (in [`stores`](crate::stores)) also applies every
//! migration, as `alfred migrate` does.
//!
//! Dropping: `Drop` cannot be async, and a blocking drop inside a test's runtime would stall it,
//! so a test that wants its database gone calls [`TestDb::drop`] at the end. A test that panics
//! leaves its database behind; the test script removes all `alfred_test_%` databases of a run
//! (see [`drop_all_test_databases`]).

use tokio_postgres::NoTls;

/// Prefix of every database a test creates.
pub const TEST_DB_PREFIX: &str = "alfred_test_";

/// The server tests create their databases on: `ALFRED_TEST_DATABASE_URL`, by default the
/// local Postgres as `postgres` (trust auth).
pub fn test_database_url() -> String {
    std::env::var("ALFRED_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database owned by one test.
#[derive(Debug, Clone)]
pub struct TestDb {
    name: String,
    url: String,
    admin_url: String,
}

impl TestDb {
    /// Creates a fresh, empty database. Panics with a hint when the server is unreachable.
    pub async fn create() -> TestDb {
        TestDb::create_on(&test_database_url()).await
    }

    /// Creates a fresh, empty database on the server of `admin_url` (a superuser URL), e.g. a
    /// [`PrivatePostgres`](crate::postgres::PrivatePostgres).
    pub async fn create_on(admin_url: &str) -> TestDb {
        let admin_url = admin_url.to_owned();
        let name = format!("{TEST_DB_PREFIX}{}", uuid::Uuid::new_v4().simple());
        let admin = connect(&admin_url).await;
        // CREATE DATABASE copies template1 and fails while another session is connected to
        // it (object_in_use); that is transient, so retry a few times.
        let mut attempt = 0;
        loop {
            match admin
                .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                .await
            {
                Ok(()) => break,
                Err(error) if attempt < 20 && is_object_in_use(&error) => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Err(error) => panic!("cannot create test database {name}: {error:?}"),
            }
        }
        let url = with_database(&admin_url, &name);
        TestDb {
            name,
            url,
            admin_url,
        }
    }

    /// The URL of this database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Drops the database now, for a `Drop` impl, which cannot await: on a thread of its own with
    /// its own runtime, so it works inside a test's runtime and while it unwinds from a failed
    /// assertion. Best effort; a failure is printed.
    pub fn drop_blocking(&self) {
        let db = self.clone();
        let dropped = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|runtime| runtime.block_on(db.drop()))
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
    }

    /// Drops the database, disconnecting whoever is still connected (best effort).
    pub async fn drop(self) {
        if let Ok((client, connection)) = tokio_postgres::connect(&self.admin_url, NoTls).await {
            tokio::spawn(connection);
            let _ = client
                .batch_execute(&format!(
                    "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                    self.name
                ))
                .await;
        }
    }
}

/// Drops every database whose name starts with [`TEST_DB_PREFIX`] (for the test script, after
/// a run). Best effort; returns how many were dropped.
pub async fn drop_all_test_databases() -> usize {
    let admin = connect(&test_database_url()).await;
    let pattern = format!("{TEST_DB_PREFIX}%");
    let rows = admin
        .query(
            "SELECT datname FROM pg_database WHERE datname LIKE $1",
            &[&pattern],
        )
        .await
        .unwrap_or_default();
    let mut dropped = 0;
    for row in rows {
        let name: String = row.get(0);
        let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        if admin.batch_execute(&sql).await.is_ok() {
            dropped += 1;
        }
    }
    dropped
}

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|error| {
            panic!(
                "cannot connect to the test Postgres ({error}); start it or set \
             ALFRED_TEST_DATABASE_URL to a superuser URL"
            )
        });
    tokio::spawn(connection);
    client
}

fn is_object_in_use(error: &tokio_postgres::Error) -> bool {
    error.code() == Some(&tokio_postgres::error::SqlState::OBJECT_IN_USE)
}

/// `url` with its database path replaced by `name` (query parameters kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_of_a_url_is_replaced_and_its_parameters_kept() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/db?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }
}
