//! How statements reach Postgres: prepared once per connection, or unnamed each time for a
//! transaction-mode pooler (`DATABASE_STATEMENT_CACHE`, docs/adr/2026-12-02-postgres-tls-and-poolers.md).
//!
//! A transaction-mode pooler (PgBouncer `pool_mode = transaction`, Supabase's port 6543) hands
//! each transaction — and each statement outside one — to whichever server connection is free.
//! Two things then break:
//! * a statement prepared by name (`prepare_cached`, and also tokio-postgres's `query(&str)`,
//!   which prepares `sN` in one round trip and binds it in the next) may be bound on a server
//!   that never saw it: "prepared statement \"s3\" does not exist";
//! * a named statement left on a server (a cache, a process killed between prepare and close)
//!   collides with the same name from the next process: "prepared statement \"s0\" already
//!   exists".
//!
//! With the cache off:
//! * a statement outside a transaction goes through [`query`] / [`execute`], which send it
//!   unnamed with its parameter types, parse-bind-execute in one round trip (`query_typed`);
//! * inside a transaction the server connection stays the same, so naming is safe as long as
//!   every name is closed before the transaction ends: [`before_commit`] empties the connection's statement
//!   cache, whose statements are closed (tokio-postgres sends `Close` when the last handle
//!   drops) inside the transaction.
//!
//! With the cache on (the default, for a direct connection or a session-mode pooler) every
//! statement is prepared once per connection and reused, which saves Postgres a parse and plan
//! per call.
//!
//! The switch is process-wide, set once from the settings by [`set_statement_cache`]: a process
//! talks to one database, and skills' code reaches the store through borrowed transactions that
//! cannot carry the setting.

use std::sync::atomic::{AtomicBool, Ordering};

use deadpool_postgres::{ClientWrapper, Transaction};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Error, Row};

/// Whether statements are prepared once per connection (see the module doc).
static STATEMENT_CACHE: AtomicBool = AtomicBool::new(true);

/// Turns the per-connection statement cache on (the default) or off (transaction poolers).
pub fn set_statement_cache(on: bool) {
    STATEMENT_CACHE.store(on, Ordering::Relaxed);
}

/// Whether the per-connection statement cache is on.
pub fn statement_cache() -> bool {
    STATEMENT_CACHE.load(Ordering::Relaxed)
}

/// A statement's parameters.
pub type Params<'a> = [&'a (dyn ToSql + Sync)];

/// Runs `sql` (parameters of `types`, in order) and returns its rows.
pub async fn query(
    client: &ClientWrapper,
    sql: &str,
    types: &[Type],
    params: &Params<'_>,
) -> Result<Vec<Row>, Error> {
    if statement_cache() {
        let statement = client.prepare_typed_cached(sql, types).await?;
        client.query(&statement, params).await
    } else {
        client.query_typed(sql, &typed(params, types)).await
    }
}

/// Runs `sql` and returns the number of rows it changed.
pub async fn execute(
    client: &ClientWrapper,
    sql: &str,
    types: &[Type],
    params: &Params<'_>,
) -> Result<u64, Error> {
    if statement_cache() {
        let statement = client.prepare_typed_cached(sql, types).await?;
        client.execute(&statement, params).await
    } else {
        client.execute_typed(sql, &typed(params, types)).await
    }
}

/// Runs `sql` and returns its one row, or none.
pub async fn query_opt(
    client: &ClientWrapper,
    sql: &str,
    types: &[Type],
    params: &Params<'_>,
) -> Result<Option<Row>, Error> {
    if statement_cache() {
        let statement = client.prepare_typed_cached(sql, types).await?;
        client.query_opt(&statement, params).await
    } else {
        client.query_typed_opt(sql, &typed(params, types)).await
    }
}

/// Run once on every new pooled connection: with the cache on, its prepared statements are
/// planned for each execution's parameters and the tables' sizes at that moment
/// (`plan_cache_mode = force_custom_plan`), instead of once for all (Postgres' generic plan
/// after five runs). A generic plan is kept until the table's statistics change, and one made
/// while the tables were small — a new deployment, before autovacuum's first `ANALYZE` — reads
/// whole tables (a hash join over `outbox`, a hashed subplan over `inbox`) on every call,
/// slower with every message. The pipeline's statements run once per batch of messages, so
/// planning each time costs little (BENCHMARKS.md, tenth round). With the cache off, statements
/// are sent unnamed and planned each time anyway, and a transaction pooler would not keep a
/// session setting.
/// (`plan_cache_mode` is Postgres 12's; an older server does not know it, and keeps its
/// generic plans.)
pub(super) async fn on_new_connection(client: &ClientWrapper) -> Result<(), Error> {
    if !statement_cache() {
        return Ok(());
    }
    match client
        .batch_execute("SET plan_cache_mode = force_custom_plan")
        .await
    {
        Err(error) if error.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_OBJECT) => {
            tracing::debug!(%error, "This Postgres has no plan_cache_mode (before 12); generic plans stay.");
            Ok(())
        }
        result => result,
    }
}

/// Call just before the transaction ends (`COMMIT`, or dropping it, which rolls back), after
/// every statement handle of the transaction was dropped: with the cache off, the statements
/// prepared in it are closed while the transaction still holds its server connection.
pub fn before_commit(tx: &Transaction<'_>) {
    if !statement_cache() {
        tx.statement_cache.clear();
    }
}

/// The parameters paired with their types. A count that does not match is left for Postgres
/// to report ("bind message supplies 1 parameters, but prepared statement requires 2").
fn typed<'a>(params: &Params<'a>, types: &[Type]) -> Vec<(&'a (dyn ToSql + Sync), Type)> {
    params
        .iter()
        .enumerate()
        .map(|(i, param)| (*param, types.get(i).cloned().unwrap_or(Type::UNKNOWN)))
        .collect()
}
