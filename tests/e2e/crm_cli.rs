//! `alfred crm import FILE.csv`, the real binary: a file with one bad row imports nothing and
//! names the row; a good one imports every row; the instance must be Biz.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};

use crate::helpers::Backends;

const HEADER: &str =
    "company,contact_name,contact_email,deal_name,stage,amount,currency,close_date,owner\n";

/// Runs `alfred crm import <csv>` against the test's database as `instance`.
fn crm_import(backends: &Backends, instance: &str, csv: &str) -> Output {
    let file = std::env::temp_dir().join(format!("alfred-crm-{}.csv", uuid::Uuid::new_v4()));
    std::fs::write(&file, csv).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_alfred"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("INSTANCE", instance)
        .env("REDIS_URL", &backends.redis_url)
        .env("DATABASE_URL", backends.db.url())
        .env("LOG_FORMAT", "pretty")
        .args(["crm", "import"])
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    output
}

async fn count(backends: &Backends, table: &str) -> i64 {
    let client = backends.pg().await;
    // Before the first import the tables may not exist yet: count that as empty.
    match client
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .await
    {
        Ok(row) => row.get(0),
        Err(_) => 0,
    }
}

#[actix_rt::test]
async fn crm_import_with_one_bad_row_imports_nothing_and_names_the_row_then_a_good_file_imports() {
    let backends = Backends::new().await;
    let bad = format!(
        "{HEADER}Acme,Jane Doe,jane@acme.com,Renewal,negotiation,1000,EUR,2026-11-27,Jane\n\
         Globex,,,Big deal,lead,lots,EUR,,Max\n"
    );
    let output = crm_import(&backends, "biz", &bad);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "a bad file must fail: {stderr}");
    assert!(stderr.contains("line 3"), "the bad row is named: {stderr}");
    assert!(stderr.contains("lots"), "and why: {stderr}");
    assert_eq!(count(&backends, "companies").await, 0, "nothing imported");
    assert_eq!(count(&backends, "deals").await, 0, "nothing imported");

    let good = format!(
        "{HEADER}Acme,Jane Doe,jane@acme.com,Renewal,negotiation,1000,EUR,2026-11-27,Jane\n\
         Globex,,,Big deal,lead,\"12,000\",EUR,,Max\n"
    );
    let output = crm_import(&backends, "biz", &good);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("Imported 2 row(s)"), "{stdout}");
    assert_eq!(count(&backends, "companies").await, 2);
    assert_eq!(count(&backends, "deals").await, 2);
}
