//! The per-test Postgres database every support module of these tests shares: a fresh database
//! on the server of `ALFRED_TEST_DATABASE_URL`, the migrations a test binary names applied to
//! it, and the database dropped with the value. Each support module includes it with
//! `#[path = "../common/mod.rs"] mod common;` and knows which migrations its skill needs; this
//! module knows no skill's tables.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Shared by several test binaries, each of which uses only some of the helpers.
#![allow(dead_code)]

// A pooled connection's wrapper, as the runtime's effects get it (`Tx::Pg` holds its
// transaction, with the per-connection statement cache); it derefs to tokio-postgres's client.
use deadpool_postgres::ClientWrapper as Client;
use tokio_postgres::{Config, NoTls};

/// A migration as `alfred migrate` applies it: its file name under `migrations/` and its SQL.
pub type Migration = (&'static str, &'static str);

/// A database of its own (the testkit's); dropped with the value (also when the test fails).
pub struct TestDb {
    db: alfred_testkit::db::TestDb,
    config: Config,
}

impl TestDb {
    /// A fresh database with `migrations` applied in order.
    pub async fn create(migrations: &[Migration]) -> TestDb {
        let db = TestDb::create_empty().await;
        db.apply(migrations).await;
        db
    }

    /// A fresh database with nothing in it.
    pub async fn create_empty() -> TestDb {
        let db = alfred_testkit::db::TestDb::create().await;
        let config = db.url().parse().expect("the test database's URL");
        TestDb { db, config }
    }

    /// Applies `migrations` in order; a failing one fails the test with its name.
    pub async fn apply(&self, migrations: &[Migration]) {
        let client = self.connect().await;
        for (name, sql) in migrations {
            client
                .batch_execute(sql)
                .await
                .unwrap_or_else(|error| panic!("apply migrations/{name}: {error}"));
        }
    }

    /// A new connection to this database.
    pub async fn connect(&self) -> Client {
        connect(&self.config).await
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.db.drop_blocking();
    }
}

async fn connect(config: &Config) -> Client {
    let (client, connection) = config
        .connect(NoTls)
        .await
        .expect("connect to the test Postgres");
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    Client::new(client, task)
}
