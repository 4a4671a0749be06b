//! Helpers of the CRM tests: a Postgres database per test, the in-memory store, a sample
//! export, and one way to import into or ask either store.
// Shared by several test binaries, each of which uses only some of the helpers.
#![allow(dead_code)]

use alfred_actors::skill::{Effect, MemTx, StoreError, Tx};
use alfred_skills_biz::crm::{self, CrmEffect};
use chrono::NaiveDate;
use deadpool_postgres::ClientWrapper as Client;
use tokio_postgres::{Config, NoTls};

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const MIGRATION: &str = include_str!("../../../migrations/0008_crm.sql");

/// A sample export: Acme with two open deals and a won one, Globex with an undated deal, and
/// Initech with none. The test day is Wednesday 2026-11-25.
pub const SAMPLE: &str = "\
company,contact_name,contact_email,deal_name,stage,amount,currency,close_date,owner,owner_slack_id
Acme,Jane Doe,Jane@Acme.com,Acme renewal,negotiation,\"12,000\",EUR,2026-11-27,Jane,U123
Acme,,,Acme pilot,won,5000,EUR,2026-11-24,Jane,
Acme,Bob Stone,bob@acme.com,Acme expansion,proposal,8000.50,USD,2026-12-15,Max,U456
Globex,John Doe,,Globex deal,lead,20000,EUR,,Max,
Initech,,,,,,,,,
";

/// The test day, a Wednesday.
pub fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 25).unwrap()
}

/// A store to import into and ask.
pub enum Store {
    Pg(Client),
    Mem(MemTx),
}

impl Store {
    /// Runs `f` in one transaction: committed when it succeeds, rolled back when it fails.
    async fn run<T>(
        &mut self,
        f: impl for<'t> FnOnce(&'t mut Tx<'_>) -> futures::future::BoxFuture<'t, Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        match self {
            Store::Pg(client) => {
                let transaction = client.transaction().await?;
                let result = f(&mut Tx::Pg(&transaction)).await;
                match result {
                    Ok(_) => transaction.commit().await?,
                    Err(_) => transaction.rollback().await?,
                }
                result
            }
            Store::Mem(mem) => f(&mut Tx::Mem(mem)).await,
        }
    }

    /// Imports a CSV text (it must be good) in one committed transaction.
    pub async fn import(&mut self, csv: &str) {
        let records = crm::parse_csv(csv.as_bytes()).unwrap();
        match self {
            Store::Pg(client) => {
                let transaction = client.transaction().await.unwrap();
                crm::import_records(&mut Tx::Pg(&transaction), &records)
                    .await
                    .unwrap();
                transaction.commit().await.unwrap();
            }
            Store::Mem(mem) => crm::import_records(&mut Tx::Mem(mem), &records)
                .await
                .unwrap(),
        }
    }

    /// Asks `text` as Slack user `asker` on the test day; the reply.
    pub async fn ask_as(&mut self, asker: &str, text: &str) -> String {
        let query = crm::parse(text).unwrap_or_else(|| panic!("{text:?} does not parse"));
        let effect = Box::new(CrmEffect {
            query,
            asker: asker.to_owned(),
            today: today(),
        });
        let replies = self.run(|tx| effect.apply(tx)).await.unwrap();
        replies
            .iter()
            .map(|reply| reply.body.display_text())
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Asks `text` as an unmapped Slack user.
    pub async fn ask(&mut self, text: &str) -> String {
        self.ask_as("U000", text).await
    }
}

/// A Postgres store with its own database and an in-memory store, both holding [`SAMPLE`].
pub async fn sample_stores() -> (TestDb, Vec<Store>) {
    let db = TestDb::create().await;
    let mut stores = vec![Store::Pg(db.connect().await), Store::Mem(MemTx::default())];
    for store in &mut stores {
        store.import(SAMPLE).await;
    }
    (db, stores)
}

/// A database of its own with the CRM migration; dropped with the value.
pub struct TestDb {
    admin_url: String,
    name: String,
    config: Config,
}

impl TestDb {
    pub async fn create() -> TestDb {
        let admin_url = std::env::var("ALFRED_TEST_DATABASE_URL")
            .unwrap_or_else(|_| DEFAULT_DATABASE_URL.to_owned());
        let name = format!("alfred_test_{}", uuid::Uuid::new_v4().simple());
        let admin = connect(&admin_url.parse().unwrap()).await;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let mut config: Config = admin_url.parse().unwrap();
        config.dbname(&name);
        let db = TestDb {
            admin_url,
            name,
            config,
        };
        db.connect().await.batch_execute(MIGRATION).await.unwrap();
        db
    }

    pub async fn connect(&self) -> Client {
        connect(&self.config).await
    }

    /// How many rows a table holds.
    pub async fn count(&self, table: &str) -> i64 {
        let client = self.connect().await;
        let row = client
            .query_one(&format!("SELECT count(*) FROM {table}"), &[])
            .await
            .unwrap();
        row.get(0)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Drop cannot await; a thread with its own runtime can, even while unwinding.
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
    let (client, connection) = config.connect(NoTls).await.unwrap();
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    Client::new(client, task)
}
