//! The process's stores: Redis and Postgres in durable mode, the in-process bus and the in-memory
//! store in ephemeral mode (DESIGN.md §5).
//!
//! Connecting to Postgres also applies the migrations and claims the database for this
//! instance, so that by the time an actor starts, the schema is current and Home and Biz can
//! never be running on one database.

use std::sync::Arc;

use alfred_actors::bus::memory::MemoryBus;
use alfred_actors::bus::Bus;
use alfred_actors::dead_letters::DeadLetterStore;
use alfred_actors::scheduler::store::{JobStore, MemJobStore, PgJobStore};
use alfred_actors::store::memory::MemStore;
use alfred_actors::store::postgres::{statements, PgStore};
use alfred_actors::store::Store;
use alfred_config::{ExposeSecret, Settings, StoreSettings};
use anyhow::Context as _;
use deadpool_postgres::tokio_postgres::types::Type;

/// The stores every actor shares.
pub struct Stores {
    pub bus: Arc<dyn Bus>,
    pub store: Arc<dyn Store>,
    pub jobs: Arc<dyn JobStore>,
    /// The Postgres pool in durable mode, for what works on its own tables (the work inbox).
    pub pool: Option<deadpool_postgres::Pool>,
    /// What the dead-letter service keeps in Postgres (durable mode only).
    pub dead_letters: Option<Arc<dyn DeadLetterStore>>,
    /// The in-memory store in ephemeral mode, for what reads skills' state outside a message
    /// (the scheduler's due reminders).
    pub mem: Option<Arc<MemStore>>,
}

/// Connects the bus and the store: Redis and Postgres (migrated and claimed for this instance),
/// or in-process and in-memory in ephemeral mode.
pub async fn connect(settings: &Settings) -> anyhow::Result<Stores> {
    let Some(stores) = &settings.stores else {
        tracing::warn!(
            "EPHEMERAL MODE: no REDIS_URL/DATABASE_URL; messages and state live in memory and are lost when Alfred stops. Set both for production."
        );
        let mem = Arc::new(MemStore::new());
        return Ok(Stores {
            bus: Arc::new(MemoryBus::new()),
            store: mem.clone(),
            jobs: Arc::new(MemJobStore::default()),
            pool: None,
            dead_letters: None,
            mem: Some(mem),
        });
    };
    let bus = crate::redis_tls::connect_redis(settings, stores.redis_url.expose_secret()).await?;
    let store = connect_postgres(stores).await?;
    let applied = alfred_actors::store::migrate::migrate(store.pool())
        .await
        .context("Failed to apply migrations")?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "Applied database migrations.");
    }
    claim_database(&store, settings.instance.as_str()).await?;
    let pool = store.pool().clone();
    Ok(Stores {
        bus: Arc::new(bus),
        jobs: Arc::new(PgJobStore::new(pool.clone())),
        dead_letters: Some(Arc::new(store.clone())),
        store: Arc::new(store),
        pool: Some(pool),
        mem: None,
    })
}

/// The Postgres store as `DATABASE_URL` and `DATABASE_STATEMENT_CACHE` say, with one connection
/// made, so that a TLS or certificate problem is told in plain words now.
pub async fn connect_postgres(stores: &StoreSettings) -> anyhow::Result<PgStore> {
    PgStore::open(
        stores.database_url.expose_secret(),
        stores.database_statement_cache,
    )
    .await
    .context("Failed to connect to Postgres")
}

/// Home and Biz never share a database: the first start writes its instance into the database,
/// and every later start of the other instance on it refuses to run.
async fn claim_database(store: &PgStore, instance: &str) -> anyhow::Result<()> {
    let client = store
        .pool()
        .get()
        .await
        .context("Failed to connect to Postgres")?;
    statements::execute(
        &client,
        "INSERT INTO alfred_instance (instance) VALUES ($1) ON CONFLICT (only_row) DO NOTHING",
        &[Type::TEXT],
        &[&instance],
    )
    .await
    .context("Failed to record the database's instance")?;
    let owner: String =
        statements::query_opt(&client, "SELECT instance FROM alfred_instance", &[], &[])
            .await
            .context("Failed to read the database's instance")?
            .context("The database's instance is not recorded")?
            .get(0);
    if owner != instance {
        anyhow::bail!(
            "DATABASE_URL is the {owner} instance's database and this is INSTANCE={instance}: \
             each instance needs its own database"
        );
    }
    Ok(())
}
