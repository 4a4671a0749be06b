//! Helpers of the chores tests: a fresh Postgres database per test with the chores migration,
//! one way to apply an effect to either store and commit it as the orchestrator would, and a
//! household whose clock the test moves.
#![allow(dead_code)]

use alfred_actors::skill::{Effect, MemTx, StoreError, Tx};
use alfred_skills_home::chores::{self, ChoreEffect, Who};
use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
// A pooled connection's wrapper, as the runtime's effects get it (`Tx::Pg` holds its
// transaction, with the per-connection statement cache); it derefs to tokio-postgres's client.
use deadpool_postgres::ClientWrapper as Client;
use tokio_postgres::{Config, NoTls};

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

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const MIGRATION: &str = include_str!("../../../migrations/0004_chores.sql");

/// A store to apply effects to.
pub enum Store {
    Pg(Client, Box<TestDb>),
    Mem(MemTx),
}

impl Store {
    pub async fn pg() -> Store {
        let db = TestDb::create().await;
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

/// A database of its own, with the chores migration applied; dropped with the value (also
/// when the test fails).
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
        let admin = connect(&admin_url.parse().expect("a Postgres URL")).await;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create the test database");
        let mut config: Config = admin_url.parse().expect("a Postgres URL");
        config.dbname(&name);
        let db = TestDb {
            admin_url,
            name,
            config,
        };
        db.connect()
            .await
            .batch_execute(MIGRATION)
            .await
            .expect("apply migrations/0004_chores.sql");
        db
    }

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
