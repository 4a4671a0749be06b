//! The per-test Postgres database every support module of these tests shares: a fresh database
//! on the server of `ALFRED_TEST_DATABASE_URL`, the migrations a test binary names applied to
//! it, and the database dropped with the value. Each support module includes it with
//! `#[path = "../common/mod.rs"] mod common;` and knows which migrations its skill needs; this
//! module knows no skill's tables.
// Shared by several test binaries, each of which uses only some of the helpers.
#![allow(dead_code)]

// A pooled connection's wrapper, as the runtime's effects get it (`Tx::Pg` holds its
// transaction, with the per-connection statement cache); it derefs to tokio-postgres's client.
use deadpool_postgres::ClientWrapper as Client;
use tokio_postgres::{Config, NoTls};

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A migration as `alfred migrate` applies it: its file name under `migrations/` and its SQL.
pub type Migration = (&'static str, &'static str);

/// A database of its own; dropped with the value (also when the test fails).
pub struct TestDb {
    admin_url: String,
    name: String,
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
        let admin_url = std::env::var("ALFRED_TEST_DATABASE_URL")
            .unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned());
        let name = format!("alfred_test_{}", uuid::Uuid::new_v4().simple());
        let admin = connect(
            &admin_url
                .parse()
                .expect("ALFRED_TEST_DATABASE_URL is a Postgres URL"),
        )
        .await;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create the test database");
        let mut config: Config = admin_url.parse().expect("a Postgres URL");
        config.dbname(&name);
        TestDb {
            admin_url,
            name,
            config,
        }
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
        // Drop cannot await; a thread with its own runtime can, even while the test's runtime
        // is unwinding from a failed assertion.
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let admin = connect(&admin_url.parse().unwrap()).await;
                admin
                    .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop test database {}", self.name);
        }
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
