//! Helpers of the grocery store tests: a fresh Postgres database per test, and one way to apply
//! an effect to either store and commit it as the orchestrator would.

use alfred_actors::skill::{Effect, MemTx, StoreError, Tx};
use alfred_skills_home::grocery::GroceryEffect;
use tokio_postgres::{Client, Config, NoTls};

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const MIGRATION: &str = include_str!("../../../migrations/0002_grocery.sql");

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
        Ok(replies.join("\n"))
    }
}

/// A database of its own, with the grocery migration applied; dropped with the value (also
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
        let db = TestDb {
            admin_url,
            name,
            config,
        };
        db.connect()
            .await
            .batch_execute(MIGRATION)
            .await
            .expect("apply migrations/0002_grocery.sql");
        db
    }

    pub async fn connect(&self) -> Client {
        connect(&self.config).await
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
    tokio::spawn(connection);
    client
}
