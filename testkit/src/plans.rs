//! Whether statements' plans read whole tables, as Alfred's connections plan them: each
//! statement is prepared on the test's database with `plan_cache_mode = force_custom_plan`
//! (Alfred's setting, see the store's `statements` module), explained for a batch's worth of
//! parameters (arrays of 32), and its plan must not scan any of the given tables sequentially.
//! The caller fills the tables first — as on a new deployment a minute in: thousands of rows,
//! never analyzed — since a plan's choices depend on the tables' sizes.
//!
//! Why: planned on small tables, a statement that looks rows up by key can read a whole table
//! on every call (a hash join over `outbox`, a hashed subplan over `inbox`), a cost that grows
//! with every message (BENCHMARKS.md, tenth round).

use crate::db::TestDb;

/// Elements of each array parameter: a batch.
const BATCH: usize = 32;

/// The plan of each of `statements` that scans one of `tables` whole, with the statement;
/// empty when none does.
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
        let plan: Vec<String> = client
            .query(&format!("EXPLAIN EXECUTE {name}{args}"), &[])
            .await
            .unwrap_or_else(|error| panic!("cannot explain {sql} with {args}: {error}"))
            .iter()
            .map(|row| row.get(0))
            .collect();
        let plan = plan.join("\n");
        let scans = |table: &&str| {
            plan.lines().any(|line| {
                let line = line.trim_end();
                line.contains(&format!("Seq Scan on {table} "))
                    || line.ends_with(&format!("Seq Scan on {table}"))
            })
        };
        if tables.iter().any(scans) {
            found.push(format!("{sql}\nwith {args}:\n{plan}"));
        }
    }
    found
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
        "jsonb" | "json" => "{}".to_owned(),
        _ => format!("key-{n}"),
    }
}
