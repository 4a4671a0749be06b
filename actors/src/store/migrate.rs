//! Schema migrations: the plain SQL files of `migrations/`, embedded at build time.
//!
//! Semantics:
//! * every `migrations/*.sql` file is a migration, applied in file-name order (hence the
//!   `0001_` prefixes), each **once**, each in **its own transaction** together with its row
//!   in `schema_migrations` (name, checksum, applied_at) — a migration that fails leaves no
//!   trace and is retried on the next start;
//! * every transaction first takes a transaction-scoped advisory lock, so several processes
//!   starting at once (replicas, `alfred migrate` next to `alfred serve`) apply each migration
//!   exactly once: the others wait, then find it recorded;
//! * an applied migration is never edited: when a file's SHA-256 differs from the recorded
//!   checksum, migrating fails and names the file (write a new migration instead);
//! * rows of `schema_migrations` without a file (a newer binary migrated the database) are
//!   left alone, so an older replica still starts during a rolling deploy.

use deadpool_postgres::Pool;
use sha2::{Digest, Sha256};

use crate::store::StoreError;

/// One embedded migration file.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// File name, e.g. `0001_runtime.sql`; the key recorded in `schema_migrations`.
    pub name: &'static str,
    /// The file's SQL, run as one batch.
    pub sql: &'static str,
}

impl Migration {
    /// Hex SHA-256 of the SQL, recorded to detect edits of an applied migration.
    pub fn checksum(&self) -> String {
        hex::encode(Sha256::digest(self.sql.as_bytes()))
    }
}

/// The table that records applied migrations.
pub const MIGRATIONS_TABLE: &str = "schema_migrations";

/// Key of the advisory lock that serializes migrating processes ("alfred" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x616c_6672_6564;

static EMBEDDED: &[Migration] = include!(concat!(env!("OUT_DIR"), "/migrations.rs"));

/// Every migration embedded in this binary, in the order they are applied.
pub fn embedded() -> &'static [Migration] {
    EMBEDDED
}

/// Applies the embedded migrations not yet applied; returns the names applied by this call.
pub async fn migrate(pool: &Pool) -> Result<Vec<String>, StoreError> {
    apply(pool, embedded()).await
}

/// Applies `migrations` (in the given order) that are not yet applied; returns the names
/// applied by this call. [`migrate`] with an explicit list, for tests and tools.
pub async fn apply(pool: &Pool, migrations: &[Migration]) -> Result<Vec<String>, StoreError> {
    let mut client = pool
        .get()
        .await
        .map_err(|e| StoreError::Pool(e.to_string()))?;
    let mut applied = Vec::new();
    for migration in migrations {
        let tx = client.transaction().await?;
        // Held until this transaction ends; a concurrent migrator waits here and then sees
        // this migration recorded. Creating the table under the lock also avoids the
        // duplicate-key race of two concurrent `CREATE TABLE IF NOT EXISTS`.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK_KEY])
            .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 name       text        PRIMARY KEY,
                 checksum   text        NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now()
             )",
        )
        .await?;
        let checksum = migration.checksum();
        let recorded = tx
            .query_opt(
                "SELECT checksum FROM schema_migrations WHERE name = $1",
                &[&migration.name],
            )
            .await?;
        if let Some(row) = recorded {
            let recorded: String = row.try_get(0)?;
            if recorded != checksum {
                return Err(StoreError::Other(format!(
                    "migration {} was changed after it was applied (recorded checksum {recorded}, \
                     file checksum {checksum}); add a new migration instead of editing it",
                    migration.name
                )));
            }
            tx.rollback().await?;
            continue;
        }
        tx.batch_execute(migration.sql).await.map_err(|error| {
            let cause = match error.as_db_error() {
                Some(db) => format!("{} ({})", db.message(), db.code().code()),
                None => error.to_string(),
            };
            StoreError::Other(format!("migration {} failed: {cause}", migration.name))
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
            &[&migration.name, &checksum],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(migration = migration.name, "Applied a database migration.");
        applied.push(migration.name.to_owned());
    }
    Ok(applied)
}
