//! Helpers of the briefing tests: a fresh Postgres database per test with every migration, a
//! household whose chores and list are filled through the skills' own grammar, and one way to
//! run a briefing on either store and commit it as the orchestrator would.
#![allow(dead_code)]
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_actors::messages::Platform;
use alfred_actors::skill::{Effect, Reply};
use alfred_actors::store::{Activity, MemTx, StoreError, Tx, ACTIVITY_SLOT};
use alfred_skills_home::briefing::{self, Briefing, BriefingEffect, BriefingTemplate, Outbound};
use alfred_skills_home::{chores, grocery};
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
// A pooled connection's wrapper, as the runtime's effects get it (`Tx::Pg` holds its
// transaction, with the per-connection statement cache); it derefs to tokio-postgres's client.
use deadpool_postgres::ClientWrapper as Client;

#[path = "../common/mod.rs"]
mod common;

use common::{Migration, TestDb};

/// Runs each scenario (an `async fn(Store)` of the test file) on Postgres as `pg::<name>` and
/// in memory as `mem::<name>`.
#[allow(unused_macros)]
macro_rules! on_both_stores {
    ($($scenario:ident),* $(,)?) => {
        mod pg {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(super::Store::pg().await).await;
                }
            )*
        }
        mod mem {
            $(
                #[tokio::test]
                async fn $scenario() {
                    super::$scenario(super::Store::mem()).await;
                }
            )*
        }
    };
}

/// Every migration, in order, as `alfred migrate` applies them.
const MIGRATIONS: [Migration; 6] = [
    (
        "0001_runtime.sql",
        include_str!("../../../migrations/0001_runtime.sql"),
    ),
    (
        "0002_grocery.sql",
        include_str!("../../../migrations/0002_grocery.sql"),
    ),
    (
        "0003_grocery_lists.sql",
        include_str!("../../../migrations/0003_grocery_lists.sql"),
    ),
    (
        "0004_chores.sql",
        include_str!("../../../migrations/0004_chores.sql"),
    ),
    (
        "0005_jobs.sql",
        include_str!("../../../migrations/0005_jobs.sql"),
    ),
    (
        "0006_inbox_activity.sql",
        include_str!("../../../migrations/0006_inbox_activity.sql"),
    ),
];

/// Dana's direct chat, where the test briefings go.
pub const DANA: &str = "4917011111111";

/// The household's time zone in every test.
pub fn berlin() -> Tz {
    "Europe/Berlin".parse().unwrap()
}

/// An instant given as a Berlin local date and time.
pub fn berlin_at(y: i32, m: u32, d: u32, hh: u32, mm: u32) -> DateTime<Utc> {
    berlin()
        .with_ymd_and_hms(y, m, d, hh, mm, 0)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

/// A store to run effects on.
pub enum Store {
    Pg(Client, Box<TestDb>),
    Mem(MemTx),
}

impl Store {
    pub async fn pg() -> Store {
        let db = TestDb::create(&MIGRATIONS).await;
        Store::Pg(db.connect().await, Box::new(db))
    }

    pub fn mem() -> Store {
        Store::Mem(MemTx::default())
    }

    /// Applies the effect in its own transaction: committed when it succeeds, rolled back when
    /// it fails.
    pub async fn apply(&mut self, effect: Box<dyn Effect>) -> Result<(), StoreError> {
        match self {
            Store::Pg(client, _) => {
                let transaction = client.transaction().await?;
                let result = effect.apply(&mut Tx::Pg(&transaction)).await;
                match result {
                    Ok(_) => transaction.commit().await?,
                    Err(_) => transaction.rollback().await?,
                }
                result.map(drop)
            }
            Store::Mem(mem) => effect.apply(&mut Tx::Mem(mem)).await.map(drop),
        }
    }

    /// The household of most tests: Dana's laundry has waited since Monday; the dishes (Sam's
    /// turn) and the plants are due today, Wednesday 25 November 2026; milk and 2 kg apples are
    /// still to buy and the bread was bought.
    pub async fn seed(&mut self) {
        let monday = berlin_at(2026, 11, 23, 8, 0);
        self.chore("Dana", "add chore laundry daily for Dana", monday)
            .await;
        let wednesday = berlin_at(2026, 11, 25, 6, 0);
        self.chore(
            "Dana",
            "add chore dishes daily rotating Sam, Dana",
            wednesday,
        )
        .await;
        self.chore("Sam", "add chore water plants every 3 days", wednesday)
            .await;
        self.list("Dana", "add milk, 2 kg apples and bread", wednesday)
            .await;
        self.list("Sam", "got bread", wednesday).await;
    }

    /// `who` tells the chores skill `text` at `now` in household `home`.
    pub async fn chore(&mut self, who: &str, text: &str, now: DateTime<Utc>) {
        let command =
            chores::parse(text).unwrap_or_else(|| panic!("{text:?} is not a chore command"));
        let who = chores::Who {
            id: format!("id-{}", who.to_lowercase()),
            name: who.to_owned(),
        };
        let effect = chores::ChoreEffect::new("home", who, command, now, berlin());
        self.apply(Box::new(effect)).await.unwrap();
    }

    /// `who` tells the shopping list `text` at `now` in household `home`.
    pub async fn list(&mut self, who: &str, text: &str, now: DateTime<Utc>) {
        let command =
            grocery::parse(text).unwrap_or_else(|| panic!("{text:?} is not a list command"));
        let who = grocery::Who {
            id: format!("id-{}", who.to_lowercase()),
            name: who.to_owned(),
        };
        let effect = grocery::GroceryEffect::new("home", who, now, command);
        self.apply(Box::new(effect)).await.unwrap();
    }

    /// The scheduled briefing of household `home` at `now`, sent to a WhatsApp chat, run in a
    /// transaction that is then committed (so a poisoned transaction would fail the test).
    pub async fn briefing(
        &mut self,
        now: DateTime<Utc>,
        template: Option<BriefingTemplate>,
    ) -> Outbound {
        let effect = BriefingEffect::new(
            "home",
            now,
            berlin(),
            Platform::WhatsApp,
            DANA,
            template,
            false,
        );
        match self {
            Store::Pg(client, _) => {
                let transaction = client.transaction().await.unwrap();
                let outbound = effect.run(&mut Tx::Pg(&transaction)).await.unwrap();
                // A statement after the briefing still works: the transaction is healthy.
                transaction.execute("SELECT 1", &[]).await.unwrap();
                transaction.commit().await.unwrap();
                outbound
            }
            Store::Mem(mem) => effect.run(&mut Tx::Mem(mem)).await.unwrap(),
        }
    }

    /// What household `home`'s briefing at `now` says, read (and committed) on this store.
    pub async fn gather(&mut self, now: DateTime<Utc>) -> Briefing {
        match self {
            Store::Pg(client, _) => {
                let transaction = client.transaction().await.unwrap();
                let briefing = briefing::gather(&mut Tx::Pg(&transaction), "home", now, berlin())
                    .await
                    .unwrap();
                transaction.commit().await.unwrap();
                briefing
            }
            Store::Mem(mem) => briefing::gather(&mut Tx::Mem(mem), "home", now, berlin())
                .await
                .unwrap(),
        }
    }

    /// Records that Dana wrote in her chat at `at`, as the orchestrator's inbox does.
    pub async fn dana_wrote(&mut self, at: DateTime<Utc>) {
        match self {
            Store::Pg(client, _) => {
                client
                    .execute(
                        "INSERT INTO inbox (platform, message_id, conversation, person_at) \
                         VALUES ('whatsapp', $1, $2, $3)",
                        &[&format!("wamid.{}", at.timestamp()), &DANA, &at],
                    )
                    .await
                    .unwrap();
            }
            Store::Mem(mem) => {
                mem.slot::<Activity>(ACTIVITY_SLOT)
                    .unwrap()
                    .insert((Platform::WhatsApp, DANA.to_owned()), at);
            }
        }
    }

    /// The replies of the scheduled briefing of household `home` at `now` to Dana's chat, as
    /// the orchestrator gets them from the effect.
    pub async fn briefing_replies(
        &mut self,
        now: DateTime<Utc>,
        template: Option<BriefingTemplate>,
    ) -> Vec<Reply> {
        let effect = Box::new(BriefingEffect::new(
            "home",
            now,
            berlin(),
            Platform::WhatsApp,
            DANA,
            template,
            false,
        ));
        match self {
            Store::Pg(client, _) => {
                let transaction = client.transaction().await.unwrap();
                let replies = effect.apply(&mut Tx::Pg(&transaction)).await.unwrap();
                transaction.commit().await.unwrap();
                replies
            }
            Store::Mem(mem) => effect.apply(&mut Tx::Mem(mem)).await.unwrap(),
        }
    }

    /// The briefing's free text (fails the test if it went out as a template).
    pub async fn briefing_text(&mut self, now: DateTime<Utc>) -> String {
        match self.briefing(now, None).await {
            Outbound::Text(text) => text,
            other => panic!("expected free text, got {other:?}"),
        }
    }

    /// Makes the chores unreadable: on Postgres the table is gone, in memory its slot holds
    /// something else. Either way the chores' query fails.
    pub async fn break_chores(&mut self) {
        match self {
            Store::Pg(client, _) => client
                .batch_execute("DROP TABLE chore_history; DROP TABLE chores")
                .await
                .unwrap(),
            Store::Mem(mem) => poison(mem, chores::SLOT),
        }
    }

    /// Makes the shopping list unreadable, the same way.
    pub async fn break_list(&mut self) {
        match self {
            Store::Pg(client, _) => client
                .batch_execute("DROP TABLE grocery_changes; DROP TABLE grocery_items")
                .await
                .unwrap(),
            Store::Mem(mem) => poison(mem, grocery::SLOT),
        }
    }
}

/// Replaces the in-memory slot `key` with a value of another type, so reading it fails.
fn poison(mem: &mut MemTx, key: &'static str) {
    let mut slots = std::mem::take(mem).into_slots();
    slots.insert(key, Box::new(0_u8));
    *mem = MemTx::new(slots);
}
