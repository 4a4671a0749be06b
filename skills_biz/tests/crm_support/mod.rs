//! Helpers of the CRM tests: a sample export, and one way to import into or ask either store
//! (the testkit's [`TestStore`], a fresh database with every migration on Postgres).
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Shared by several test binaries, each of which uses only some of the helpers.
#![allow(dead_code)]

use alfred_skills_biz::crm::{self, CrmEffect};
use alfred_testkit::db::TestDb;
use alfred_testkit::stores::{Backend, TestStore};
use chrono::NaiveDate;

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

/// The CRM on a [`TestStore`].
pub trait Crm {
    /// Imports a CSV text (it must be good) in one committed transaction.
    async fn import(&mut self, csv: &str);

    /// Asks `text` as Slack user `asker` on the test day; the reply.
    async fn ask_as(&mut self, asker: &str, text: &str) -> String;

    /// Asks `text` as an unmapped Slack user.
    async fn ask(&mut self, text: &str) -> String;
}

impl Crm for TestStore {
    async fn import(&mut self, csv: &str) {
        let records = crm::parse_csv(csv.as_bytes()).unwrap();
        let mut transaction = self.begin().await.unwrap();
        crm::import_records(&mut transaction.tx(), &records)
            .await
            .unwrap();
        transaction.commit().await.unwrap();
    }

    async fn ask_as(&mut self, asker: &str, text: &str) -> String {
        let query = crm::parse(text).unwrap_or_else(|| panic!("{text:?} does not parse"));
        let effect = Box::new(CrmEffect {
            query,
            asker: asker.to_owned(),
            today: today(),
        });
        self.apply(effect).await.unwrap()
    }

    async fn ask(&mut self, text: &str) -> String {
        self.ask_as("U000", text).await
    }
}

/// The store with [`SAMPLE`] imported.
pub async fn with_sample(mut store: Backend<TestStore>) -> Backend<TestStore> {
    store.import(SAMPLE).await;
    store
}

/// How many rows a table holds.
pub async fn count(db: &TestDb, table: &str) -> i64 {
    let client = db.connect().await;
    let row = client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
        .unwrap();
    row.get(0)
}
