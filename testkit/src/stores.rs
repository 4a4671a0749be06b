//! Stores for tests: one scenario run on both backends, the store a skill's effects see, and
//! databases with the real migrations.
//!
//! * [`for_both_stores!`](crate::for_both_stores) turns each scenario of a test file (an
//!   `async fn(&mut S)`) into two tests, `mem::<scenario>` on the in-memory backend and
//!   `pg::<scenario>` on Postgres, each with a backend of its own;
//! * [`Backend`] is such a backend: a store made for one test and the database it lives in,
//!   dropped together (also when the test fails);
//! * [`TestStore`] is the store a skill's effects see, as the orchestrator gives it to them: an
//!   in-memory [`MemTx`] or a connection to a fresh migrated database, where each effect runs in
//!   a transaction of its own, committed when it succeeds and rolled back when it fails;
//! * [`TestDb::create_migrated`] makes a database with every migration of `migrations/`, applied
//!   by the runtime's own [`migrate::migrate`], so a test never misses a later `ALTER` of the
//!   table it uses.

use std::ops::{Deref, DerefMut};

use alfred_actors::messages::Platform;
use alfred_actors::skill::{Effect, Reply};
use alfred_actors::store::{migrate, InboxKey, MemTx, PgStore, ReplyTarget, StoreError, Tx};
// A pooled connection's wrapper, as the runtime's effects get it (`Tx::Pg` holds its
// transaction, with the per-connection statement cache); it derefs to tokio-postgres's client.
use deadpool_postgres::ClientWrapper as Client;
use tokio_postgres::NoTls;

use crate::db::TestDb;

/// Generates, from each scenario, one test on the in-memory backend (`mem::<scenario>`) and one
/// on Postgres (`pg::<scenario>`).
///
/// A scenario is an `async fn(&mut S)` of the test file, where `S` is what the [`Backend`] the
/// constructor expressions return holds; a scenario generic over `&impl Store` takes a
/// `&mut PgStore` as well. The constructors are evaluated inside each generated test, in a
/// module that sees the test file's items; `on_postgres` may `.await`. Tests are
/// `#[tokio::test]` unless a test attribute is given first (e.g. `#[actix_rt::test]` for
/// scenarios that start actors). `scenarios: behaviour::[…]` takes the scenarios from the
/// test file's module `behaviour`.
///
/// ```ignore
/// use alfred_testkit::stores::TestStore;
///
/// async fn an_empty_list_says_so(store: &mut TestStore) { /* … */ }
///
/// alfred_testkit::for_both_stores! {
///     in_memory: TestStore::in_memory(),
///     on_postgres: TestStore::on_postgres().await,
///     scenarios: [an_empty_list_says_so],
/// }
/// ```
#[macro_export]
macro_rules! for_both_stores {
    (
        #[$test:meta]
        in_memory: $mem:expr,
        on_postgres: $pg:expr,
        scenarios: $($module:ident ::)? [$($scenario:ident),+ $(,)?] $(,)?
    ) => {
        $crate::for_both_stores!(@expand [$test] [$mem] [$pg] [$($module)?] $($scenario),+);
    };
    (
        in_memory: $mem:expr,
        on_postgres: $pg:expr,
        scenarios: $($module:ident ::)? [$($scenario:ident),+ $(,)?] $(,)?
    ) => {
        $crate::for_both_stores!(
            @expand [tokio::test] [$mem] [$pg] [$($module)?] $($scenario),+
        );
    };
    (@expand [$test:meta] [$mem:expr] [$pg:expr] [] $($scenario:ident),+) => {
        $crate::for_both_stores!(@expand [$test] [$mem] [$pg] [super] $($scenario),+);
    };
    (@expand [$test:meta] [$mem:expr] [$pg:expr] [$module:ident] $($scenario:ident),+) => {
        mod mem {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[$test]
                async fn $scenario() {
                    let mut backend = $mem;
                    $module::$scenario(&mut *backend).await;
                }
            )+
        }
        mod pg {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[$test]
                async fn $scenario() {
                    let mut backend = $pg;
                    $module::$scenario(&mut *backend).await;
                }
            )+
        }
    };
}

/// A store made for one test, and the database it lives in (none in memory); the database is
/// dropped with the value, also when the test fails. Derefs to the store.
pub struct Backend<S> {
    // Always `Some`, except inside `map`, which moves the store out of a value that has a Drop.
    store: Option<S>,
    db: Option<TestDb>,
}

impl<S> Backend<S> {
    /// A store that needs no database.
    pub fn in_memory(store: S) -> Backend<S> {
        Backend {
            store: Some(store),
            db: None,
        }
    }

    /// A store on `db`, which is dropped with the backend.
    pub fn on_postgres(store: S, db: TestDb) -> Backend<S> {
        Backend {
            store: Some(store),
            db: Some(db),
        }
    }

    /// The database of a Postgres backend.
    pub fn db(&self) -> Option<&TestDb> {
        self.db.as_ref()
    }

    /// The same database with the store wrapped, e.g. in an `Arc` for an actor.
    pub fn map<T>(mut self, wrap: impl FnOnce(S) -> T) -> Backend<T> {
        Backend {
            store: self.store.take().map(wrap),
            db: self.db.take(),
        }
    }
}

impl<S> Deref for Backend<S> {
    type Target = S;

    fn deref(&self) -> &S {
        self.store.as_ref().expect("a backend has its store")
    }
}

impl<S> DerefMut for Backend<S> {
    fn deref_mut(&mut self) -> &mut S {
        self.store.as_mut().expect("a backend has its store")
    }
}

impl<S> Drop for Backend<S> {
    fn drop(&mut self) {
        if let Some(db) = &self.db {
            db.drop_blocking();
        }
    }
}

/// The store a skill's effects see: one connection to a database of the test's own, or the
/// in-memory store of ephemeral mode. Skill test helpers match on it for what only one backend
/// can do (raw SQL, an in-memory slot).
pub enum TestStore {
    Pg(Client),
    Mem(MemTx),
}

/// One open transaction of a [`TestStore`]; [`StoreTx::tx`] is the store as an effect sees it.
pub enum StoreTx<'s> {
    Pg(deadpool_postgres::Transaction<'s>),
    Mem(&'s mut MemTx),
}

impl TestStore {
    /// An empty in-memory store.
    pub fn in_memory() -> Backend<TestStore> {
        Backend::in_memory(TestStore::Mem(MemTx::default()))
    }

    /// A connection to a fresh database with every migration applied.
    pub async fn on_postgres() -> Backend<TestStore> {
        let db = TestDb::create_migrated().await;
        let client = db.connect().await;
        Backend::on_postgres(TestStore::Pg(client), db)
    }

    /// Opens a transaction (in memory: the store itself, which has no rollback).
    pub async fn begin(&mut self) -> Result<StoreTx<'_>, StoreError> {
        Ok(match self {
            TestStore::Pg(client) => StoreTx::Pg(client.transaction().await?),
            TestStore::Mem(mem) => StoreTx::Mem(mem),
        })
    }

    /// Applies the effect in its own transaction, as the orchestrator does: committed when it
    /// succeeds, rolled back when it fails. Its replies.
    pub async fn replies(&mut self, effect: Box<dyn Effect>) -> Result<Vec<Reply>, StoreError> {
        let mut transaction = self.begin().await?;
        let result = effect.apply(&mut transaction.tx()).await;
        match result {
            Ok(_) => transaction.commit().await?,
            Err(_) => transaction.rollback().await?,
        }
        result
    }

    /// [`TestStore::replies`] as the texts of the replies, joined by newlines.
    pub async fn apply(&mut self, effect: Box<dyn Effect>) -> Result<String, StoreError> {
        Ok(self
            .replies(effect)
            .await?
            .iter()
            .map(|reply| reply.body.display_text())
            .collect::<Vec<_>>()
            .join("\n"))
    }
}

impl StoreTx<'_> {
    /// The transaction as an effect sees it.
    pub fn tx(&mut self) -> Tx<'_> {
        match self {
            StoreTx::Pg(transaction) => Tx::Pg(transaction),
            StoreTx::Mem(mem) => Tx::Mem(mem),
        }
    }

    /// Commits (in memory: nothing to do).
    pub async fn commit(self) -> Result<(), StoreError> {
        if let StoreTx::Pg(transaction) = self {
            transaction.commit().await?;
        }
        Ok(())
    }

    /// Rolls back (in memory: nothing to do; the changes stay).
    pub async fn rollback(self) -> Result<(), StoreError> {
        if let StoreTx::Pg(transaction) = self {
            transaction.rollback().await?;
        }
        Ok(())
    }
}

impl TestDb {
    /// A fresh database with every migration applied by the runtime's
    /// [`migrate::migrate`], as `alfred migrate` would.
    pub async fn create_migrated() -> TestDb {
        let db = TestDb::create().await;
        db.migrate().await;
        db
    }

    /// A fresh database with the migrations up to and including the one named `last` (e.g.
    /// `0002_grocery.sql`), to test a later migration over older data; [`TestDb::migrate`]
    /// applies the rest. Panics when there is no such migration.
    pub async fn create_migrated_up_to(last: &str) -> TestDb {
        let embedded = migrate::embedded();
        let up_to = embedded
            .iter()
            .position(|migration| migration.name == last)
            .unwrap_or_else(|| panic!("there is no migration {last}"));
        let db = TestDb::create().await;
        let store = db.store();
        migrate::apply(store.pool(), &embedded[..=up_to])
            .await
            .unwrap_or_else(|error| panic!("cannot migrate test database {}: {error}", db.name()));
        store.pool().close();
        db
    }

    /// Applies the migrations not applied yet; their names.
    pub async fn migrate(&self) -> Vec<String> {
        let store = self.store();
        let applied = migrate::migrate(store.pool())
            .await
            .unwrap_or_else(|error| {
                panic!("cannot migrate test database {}: {error}", self.name())
            });
        store.pool().close();
        applied
    }

    /// A new connection to this database, wrapped as the pool wraps one (so its transactions
    /// are what `Tx::Pg` holds).
    pub async fn connect(&self) -> Client {
        let config: tokio_postgres::Config = self.url().parse().expect("the test database's URL");
        let (client, connection) = config
            .connect(NoTls)
            .await
            .expect("connect to the test Postgres");
        let task = tokio::spawn(async move {
            let _ = connection.await;
        });
        Client::new(client, task)
    }

    fn store(&self) -> PgStore {
        PgStore::connect(self.url()).expect("the test database's URL")
    }
}

/// The inbox key of the WhatsApp message `id` (no person time, no partition fence), as the
/// store tests commit it.
pub fn whatsapp_inbox_key(id: &str) -> InboxKey {
    InboxKey {
        platform: Platform::WhatsApp,
        message_id: id.to_owned(),
        person_at: None,
        fence: None,
    }
}

/// Where the store tests' replies go: a WhatsApp direct chat, quoting `wamid.in`.
pub fn whatsapp_reply_target() -> ReplyTarget {
    ReplyTarget {
        platform: Platform::WhatsApp,
        account: "phone-1".into(),
        to: "4915112345678".into(),
        to_group: false,
        thread: None,
        reply_to: Some("wamid.in".into()),
        traceparent: None,
    }
}

#[cfg(test)]
mod tests {
    use alfred_actors::store::migrate;

    use super::TestDb;

    async fn recorded(db: &TestDb) -> Vec<String> {
        let client = db.connect().await;
        let rows = client
            .query("SELECT name FROM schema_migrations ORDER BY name", &[])
            .await
            .unwrap();
        rows.iter().map(|row| row.get(0)).collect()
    }

    fn names(migrations: &[migrate::Migration]) -> Vec<String> {
        migrations
            .iter()
            .map(|migration| migration.name.to_owned())
            .collect()
    }

    #[tokio::test]
    async fn a_migrated_database_has_every_migration_applied() {
        let db = TestDb::create_migrated().await;

        assert_eq!(recorded(&db).await, names(migrate::embedded()));
        db.drop().await;
    }

    #[tokio::test]
    async fn a_database_migrated_up_to_a_migration_gets_the_rest_from_migrate() {
        let embedded = migrate::embedded();
        let db = TestDb::create_migrated_up_to(embedded[1].name).await;
        assert_eq!(recorded(&db).await, names(&embedded[..2]));

        let rest = db.migrate().await;

        assert_eq!(rest, names(&embedded[2..]));
        assert_eq!(recorded(&db).await, names(embedded));
        db.drop().await;
    }
}
