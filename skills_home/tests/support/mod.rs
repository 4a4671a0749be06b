//! Helpers of the grocery store tests: a fresh Postgres database per test, and one way to apply
//! an effect to either store and commit it as the orchestrator would.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Shared by several test binaries, each of which uses only some of the helpers.
#![allow(dead_code)]

use std::ops::Deref;
use std::sync::atomic::{AtomicI64, Ordering};

use alfred_actors::skill::Effect;
use alfred_actors::store::{MemTx, StoreError, Tx};
use alfred_skills_home::grocery::{self, GroceryEffect, ListedItem, Who};
use chrono::{DateTime, TimeZone, Utc};
// A pooled connection's wrapper, as the runtime's effects get it (`Tx::Pg` holds its
// transaction, with the per-connection statement cache); it derefs to tokio-postgres's client.
use deadpool_postgres::ClientWrapper as Client;

#[path = "../common/mod.rs"]
mod common;

use common::Migration;

pub fn dana() -> Who {
    Who {
        id: "447700900001".to_owned(),
        name: "Dana".to_owned(),
    }
}

pub fn sam() -> Who {
    Who {
        id: "447700900002".to_owned(),
        name: "Sam".to_owned(),
    }
}

/// A test clock: every call is one second after the previous one, from a fixed start, so each
/// change has its own time and no test depends on the machine's clock.
pub fn now() -> DateTime<Utc> {
    static SECONDS: AtomicI64 = AtomicI64::new(0);
    let start = Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap();
    start + chrono::Duration::seconds(SECONDS.fetch_add(1, Ordering::Relaxed))
}

/// The effect of `text` sent by `who` in `household`.
pub fn effect(household: &str, who: Who, text: &str) -> GroceryEffect {
    let command = grocery::parse(text).unwrap_or_else(|| panic!("{text:?} does not parse"));
    GroceryEffect::new(household, who, now(), command)
}

/// The grocery migrations, applied in order as `alfred migrate` would.
const MIGRATIONS: [Migration; 2] = [
    (
        "0002_grocery.sql",
        include_str!("../../../migrations/0002_grocery.sql"),
    ),
    (
        "0003_grocery_lists.sql",
        include_str!("../../../migrations/0003_grocery_lists.sql"),
    ),
];

/// A store to apply effects to.
pub enum Store {
    Pg(Client),
    Mem(MemTx),
}

impl Store {
    /// Applies the effect in its own transaction: committed when it succeeds, rolled back when
    /// it fails. The replies joined by newlines.
    pub async fn apply(&mut self, effect: GroceryEffect) -> Result<String, StoreError> {
        self.apply_boxed(Box::new(effect)).await
    }

    /// Applies `text` as `who` in household `home` and commits; the reply.
    pub async fn say(&mut self, who: Who, text: &str) -> String {
        self.apply(effect("home", who, text)).await.unwrap()
    }

    /// The household's lines exactly as stored.
    pub async fn lines(&mut self, household: &str) -> Vec<ListedItem> {
        match self {
            Store::Pg(client) => {
                let transaction = client.transaction().await.unwrap();
                let lines = grocery::items(&mut Tx::Pg(&transaction), household)
                    .await
                    .unwrap();
                transaction.commit().await.unwrap();
                lines
            }
            Store::Mem(mem) => grocery::items(&mut Tx::Mem(mem), household).await.unwrap(),
        }
    }

    /// [`Store::apply`] for an effect as a skill returns it.
    pub async fn apply_boxed(&mut self, effect: Box<dyn Effect>) -> Result<String, StoreError> {
        let replies = match self {
            Store::Pg(client) => {
                let transaction = client.transaction().await?;
                let result = effect.apply(&mut Tx::Pg(&transaction)).await;
                match result {
                    Ok(_) => transaction.commit().await?,
                    Err(_) => transaction.rollback().await?,
                }
                result?
            }
            Store::Mem(mem) => effect.apply(&mut Tx::Mem(mem)).await?,
        };
        Ok(replies
            .iter()
            .map(|reply| reply.body.display_text())
            .collect::<Vec<_>>()
            .join("\n"))
    }
}

/// A database of its own, with the grocery migrations applied; dropped with the value (also
/// when the test fails). Derefs to the shared test database (for `connect`).
pub struct TestDb(common::TestDb);

impl Deref for TestDb {
    type Target = common::TestDb;

    fn deref(&self) -> &common::TestDb {
        &self.0
    }
}

impl TestDb {
    pub async fn create() -> TestDb {
        TestDb(common::TestDb::create(&MIGRATIONS).await)
    }

    /// A database of its own with only the migrations up to `name` applied (to test a later
    /// migration over older data); all of them when there is no such migration.
    pub async fn create_up_to(name: &str) -> TestDb {
        let up_to = MIGRATIONS
            .iter()
            .position(|(migration, _)| *migration == name)
            .map_or(MIGRATIONS.len(), |index| index + 1);
        TestDb(common::TestDb::create(&MIGRATIONS[..up_to]).await)
    }

    /// Applies the migrations after `name` (none when there is no such migration).
    pub async fn migrate_after(&self, name: &str) {
        let after = MIGRATIONS
            .iter()
            .position(|(migration, _)| *migration == name)
            .map_or(MIGRATIONS.len(), |index| index + 1);
        self.apply(&MIGRATIONS[after..]).await;
    }

    /// The household's rows: name_key, name, quantity, unit, added_by, added_by_name.
    pub async fn rows(
        &self,
        household: &str,
    ) -> Vec<(String, String, Option<String>, String, String, String)> {
        let client = self.connect().await;
        let rows = client
            .query(
                "SELECT name_key, name, quantity::text, unit, added_by, added_by_name \
                 FROM grocery_items WHERE household = $1 ORDER BY id",
                &[&household],
            )
            .await
            .unwrap();
        rows.iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
            .collect()
    }

    /// Makes Postgres refuse to write an item with this key, to fail an effect midway.
    pub async fn reject_item_named(&self, name_key: &str) {
        let sql = format!(
            "CREATE FUNCTION reject_item() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF NEW.name_key = '{name_key}' THEN RAISE EXCEPTION 'item % rejected', NEW.name_key; END IF;
                 RETURN NEW;
             END $$;
             CREATE TRIGGER reject_item BEFORE INSERT OR UPDATE ON grocery_items
                 FOR EACH ROW EXECUTE FUNCTION reject_item();"
        );
        self.connect().await.batch_execute(&sql).await.unwrap();
    }
}
