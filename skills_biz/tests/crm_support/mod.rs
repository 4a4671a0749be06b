//! Helpers of the CRM tests: a Postgres database per test, the in-memory store, a sample
//! export, and one way to import into or ask either store.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Shared by several test binaries, each of which uses only some of the helpers.
#![allow(dead_code)]

use alfred_actors::skill::Effect;
use alfred_actors::store::{MemTx, StoreError, Tx};
use alfred_skills_biz::crm::{self, CrmEffect};
use chrono::NaiveDate;
use deadpool_postgres::ClientWrapper as Client;
use tokio_postgres::{Config, NoTls};

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

/// A database of its own (the testkit's) with the CRM migration; dropped with the value.
pub struct TestDb {
    db: alfred_testkit::db::TestDb,
    config: Config,
}

impl TestDb {
    pub async fn create() -> TestDb {
        let db = alfred_testkit::db::TestDb::create().await;
        let config = db.url().parse().unwrap();
        let db = TestDb { db, config };
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
        self.db.drop_blocking();
    }
}

async fn connect(config: &Config) -> Client {
    let (client, connection) = config.connect(NoTls).await.unwrap();
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    Client::new(client, task)
}
