//! Helpers of the chores tests: a fresh Postgres database per test with the chores migration,
//! one way to apply an effect to either store and commit it as the orchestrator would, and a
//! household whose clock the test moves.
#![allow(dead_code)]
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_actors::skill::Effect;
use alfred_actors::store::{MemTx, StoreError, Tx};
use alfred_skills_home::chores::{self, ChoreEffect, Who};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
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

/// A store to apply effects to.
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

    /// Applies the effect in its own transaction: committed when it succeeds, rolled back
    /// when it fails. The replies joined by newlines.
    pub async fn apply(&mut self, effect: Box<dyn Effect>) -> Result<String, StoreError> {
        let replies = match self {
            Store::Pg(client, _) => {
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

    /// Runs `f` with a transaction on the store (rolled back afterwards: read-only helpers).
    pub async fn reminders(
        &mut self,
        household: &str,
        now: DateTime<Utc>,
        tz: Tz,
        quiet: Option<(NaiveTime, NaiveTime)>,
    ) -> Vec<chores::Reminder> {
        match self {
            Store::Pg(client, _) => {
                let transaction = client.transaction().await.unwrap();
                let reminders =
                    chores::due_reminders(&mut Tx::Pg(&transaction), household, now, tz, quiet)
                        .await
                        .unwrap();
                transaction.rollback().await.unwrap();
                reminders
            }
            Store::Mem(mem) => chores::due_reminders(&mut Tx::Mem(mem), household, now, tz, quiet)
                .await
                .unwrap(),
        }
    }

    /// [`chores::chores_due_today`] on this store.
    pub async fn due_today(
        &mut self,
        household: &str,
        now: DateTime<Utc>,
        tz: Tz,
    ) -> Vec<chores::DueChore> {
        match self {
            Store::Pg(client, _) => {
                let transaction = client.transaction().await.unwrap();
                let due = chores::chores_due_today(&mut Tx::Pg(&transaction), household, now, tz)
                    .await
                    .unwrap();
                transaction.rollback().await.unwrap();
                due
            }
            Store::Mem(mem) => chores::chores_due_today(&mut Tx::Mem(mem), household, now, tz)
                .await
                .unwrap(),
        }
    }
}

/// A household in a time zone, on a clock the test moves; messages go through the grammar.
pub struct Home {
    pub store: Store,
    pub household: String,
    pub tz: Tz,
    pub now: DateTime<Utc>,
}

impl Home {
    /// A household in `tz` whose clock stands at `local` (a local date and time).
    pub fn new(store: Store, tz: Tz, local: (i32, u32, u32, u32, u32)) -> Home {
        let mut home = Home {
            store,
            household: "home".to_owned(),
            tz,
            now: DateTime::UNIX_EPOCH,
        };
        home.set_local(local);
        home
    }

    /// Moves the clock to a local date and time.
    pub fn set_local(&mut self, (y, m, d, hh, mm): (i32, u32, u32, u32, u32)) {
        self.now = self
            .tz
            .with_ymd_and_hms(y, m, d, hh, mm, 0)
            .earliest()
            .unwrap()
            .with_timezone(&Utc);
    }

    /// Moves the clock on by whole days, keeping the local time of day.
    pub fn next_day(&mut self) {
        let local = self.now.with_timezone(&self.tz);
        let date = local.date_naive().succ_opt().unwrap();
        let time = local.time();
        self.now = self
            .tz
            .from_local_datetime(&date.and_time(time))
            .earliest()
            .unwrap()
            .with_timezone(&Utc);
    }

    pub fn today(&self) -> NaiveDate {
        chores::local_today(self.now, self.tz)
    }

    /// `who` says `text` now; the reply.
    pub async fn say(&mut self, who: &str, text: &str) -> String {
        let command =
            chores::parse(text).unwrap_or_else(|| panic!("{text:?} is not a chore command"));
        let effect = ChoreEffect::new(&self.household, member(who), command, self.now, self.tz);
        self.store.apply(Box::new(effect)).await.unwrap()
    }
}

/// A member with a phone-number id and a display name.
pub fn member(name: &str) -> Who {
    Who {
        id: format!("id-{}", name.to_lowercase()),
        name: name.to_owned(),
    }
}

/// The chores migration, as `alfred migrate` applies it.
const MIGRATIONS: [Migration; 1] = [(
    "0004_chores.sql",
    include_str!("../../../migrations/0004_chores.sql"),
)];
