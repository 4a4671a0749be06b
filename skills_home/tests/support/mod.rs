//! Helpers of the grocery tests: the household's members, a test clock, the effect of a text,
//! the list as stored, and ways to make Postgres refuse a write. The stores themselves are the
//! testkit's ([`TestStore`], a fresh database with every migration on Postgres).
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]
// Shared by several test binaries, each of which uses only some of the helpers.
#![allow(dead_code)]

use std::sync::atomic::{AtomicI64, Ordering};

use alfred_actors::skill::Effect;
use alfred_skills_home::grocery::{self, GroceryEffect, ListedItem, Who};
use alfred_testkit::db::TestDb;
use alfred_testkit::stores::TestStore;
use chrono::{DateTime, TimeZone, Utc};

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
pub fn effect(household: &str, who: Who, text: &str) -> Box<dyn Effect> {
    let command = grocery::parse(text).unwrap_or_else(|| panic!("{text:?} does not parse"));
    Box::new(GroceryEffect::new(household, who, now(), command))
}

/// The shopping list on a [`TestStore`].
pub trait Grocery {
    /// Applies `text` as `who` in household `home` and commits; the reply.
    async fn say(&mut self, who: Who, text: &str) -> String;

    /// The household's lines exactly as stored.
    async fn lines(&mut self, household: &str) -> Vec<ListedItem>;
}

impl Grocery for TestStore {
    async fn say(&mut self, who: Who, text: &str) -> String {
        self.apply(effect("home", who, text)).await.unwrap()
    }

    async fn lines(&mut self, household: &str) -> Vec<ListedItem> {
        let mut transaction = self.begin().await.unwrap();
        let lines = grocery::items(&mut transaction.tx(), household)
            .await
            .unwrap();
        transaction.commit().await.unwrap();
        lines
    }
}

/// The household's rows: name_key, name, quantity, unit, added_by, added_by_name.
pub async fn rows(
    db: &TestDb,
    household: &str,
) -> Vec<(String, String, Option<String>, String, String, String)> {
    let client = db.connect().await;
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
pub async fn reject_item_named(db: &TestDb, name_key: &str) {
    let sql = format!(
        "CREATE FUNCTION reject_item() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF NEW.name_key = '{name_key}' THEN RAISE EXCEPTION 'item % rejected', NEW.name_key; END IF;
             RETURN NEW;
         END $$;
         CREATE TRIGGER reject_item BEFORE INSERT OR UPDATE ON grocery_items
             FOR EACH ROW EXECUTE FUNCTION reject_item();"
    );
    db.connect().await.batch_execute(&sql).await.unwrap();
}
