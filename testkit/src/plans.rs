//! Whether statements' plans read whole tables, as Alfred's connections plan them: each
//! statement is prepared on the test's database with `plan_cache_mode = force_custom_plan`
//! (Alfred's setting, see the store's `statements` module), run for a batch's worth of
//! parameters (arrays of 100) under `EXPLAIN ANALYZE` and rolled back, and no node of its plan
//! may read more than a thousand rows of any of the given tables.
//! The caller fills the tables first — as on a new deployment a minute in: thousands of rows,
//! never analyzed — since a plan's choices depend on the tables' sizes.
//!
//! Why: planned on small tables, a statement that looks rows up by key can read a whole table
//! on every call (a hash join over `outbox`, a hashed subplan over `inbox`), a cost that grows
//! with every message (BENCHMARKS.md, tenth round).

use crate::db::TestDb;

/// Elements of each array parameter: a batch.
const BATCH: usize = 100;

/// Most rows one plan node may read from one of the tables: a batch's keys and their few
/// rows each, far below any table's size.
pub const MOST_ROWS: f64 = 1000.0;

/// Each of `statements` whose plan reads more than [`MOST_ROWS`] rows of one of `tables` in
/// one node (a sequential scan, a bitmap over a whole partial index, a hash of a table), with
/// its plan; empty when none does. Each statement is run (`EXPLAIN ANALYZE`) in a transaction
/// that is rolled back.
pub async fn full_scans(db: &TestDb, statements: &[&str], tables: &[&str]) -> Vec<String> {
    let client = db.connect().await;
    let mut found = Vec::new();
    client
        .batch_execute("SET plan_cache_mode = force_custom_plan")
        .await
        .unwrap_or_else(|error| panic!("cannot force custom plans: {error}"));
    for (n, sql) in statements.iter().enumerate() {
        let name = format!("hot_{n}");
        client
            .batch_execute(&format!("PREPARE {name} AS {sql}"))
            .await
            .unwrap_or_else(|error| panic!("cannot prepare {sql}: {error}"));
        let types: Vec<String> = client
            .query_one(
                "SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = $1",
                &[&name],
            )
            .await
            .unwrap_or_else(|error| panic!("cannot read the parameters of {sql}: {error}"))
            .get(0);
        let args: Vec<String> = types.iter().map(|ty| sample(ty)).collect();
        let args = if args.is_empty() {
            String::new()
        } else {
            format!("({})", args.join(", "))
        };
        client
            .batch_execute("BEGIN")
            .await
            .unwrap_or_else(|error| panic!("cannot begin: {error}"));
        let explained = client
            .query_one(
                &format!("EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE {name}{args}"),
                &[],
            )
            .await
            .unwrap_or_else(|error| panic!("cannot run {sql} with {args}: {error}"));
        client
            .batch_execute("ROLLBACK")
            .await
            .unwrap_or_else(|error| panic!("cannot roll back: {error}"));
        let plan: serde_json::Value = explained.get(0);
        let mut heavy = Vec::new();
        if let Some(root) = plan.get(0).and_then(|plan| plan.get("Plan")) {
            heavy_nodes(root, tables, &mut heavy);
        }
        if !heavy.is_empty() {
            let plan = serde_json::to_string_pretty(&plan).unwrap_or_default();
            found.push(format!("{sql}\nreads {}:\n{plan}", heavy.join(", ")));
        }
    }
    found
}

/// The nodes under `node` (itself included) that read more than [`MOST_ROWS`] rows of one of
/// `tables`, as "N rows of TABLE (NODE TYPE)".
fn heavy_nodes(node: &serde_json::Value, tables: &[&str], heavy: &mut Vec<String>) {
    let number = |key: &str| {
        node.get(key)
            .and_then(serde_json::Value::as_f64)
            .unwrap_or(0.0)
    };
    if let Some(table) = node
        .get("Relation Name")
        .and_then(serde_json::Value::as_str)
    {
        let rows = (number("Actual Rows")
            + number("Rows Removed by Filter")
            + number("Rows Removed by Index Recheck"))
            * number("Actual Loops").max(1.0);
        if tables.contains(&table) && rows > MOST_ROWS {
            let kind = node
                .get("Node Type")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("?");
            heavy.push(format!("{rows} rows of {table} ({kind})"));
        }
    }
    for child in node
        .get("Plans")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
    {
        heavy_nodes(child, tables, heavy);
    }
}

/// A literal of type `ty` (as `regtype` spells it); arrays hold [`BATCH`] distinct elements.
fn sample(ty: &str) -> String {
    let Some(element) = ty.strip_suffix("[]") else {
        return format!("'{}'::{ty}", scalar(ty, 1));
    };
    let elements: Vec<String> = (1..=BATCH)
        .map(|n| format!("\"{}\"", scalar(element, n).replace('"', "\\\"")))
        .collect();
    format!("'{{{}}}'::{ty}", elements.join(","))
}

/// The `n`th value of a scalar type, as text.
fn scalar(ty: &str, n: usize) -> String {
    match ty {
        "bigint" | "integer" | "smallint" => n.to_string(),
        "double precision" | "numeric" | "real" => format!("{n}.5"),
        "boolean" => "false".to_owned(),
        "timestamp with time zone" => format!("2026-12-01 00:00:{:02}+00", n % 60),
        "jsonb" | "json" => "[]".to_owned(),
        _ => format!("key-{n}"),
    }
}
