//! The store's hot statements never read a whole table as Alfred's connections plan them, on
//! tables grown to thousands of rows and never analyzed (see `alfred_testkit::plans`).

use alfred_actors::store::postgres::HOT_STATEMENTS;
use alfred_testkit::plans::full_scans;

use super::*;

/// A minute into a new deployment's life, under more load than it sends: the pipeline's tables
/// hold thousands of rows, a backlog of replies waits to be sent, and autovacuum has not
/// analyzed the tables yet.
const GROWN: &str = "
INSERT INTO inbox (platform, message_id, conversation, person_at)
    SELECT 'whatsapp', 'wamid.' || n, 'c' || n % 1000, now() FROM generate_series(1, 20000) n;
INSERT INTO outbox (platform, account, recipient, body)
    SELECT 'whatsapp', 'account', 'c' || n % 5000, '{}' FROM generate_series(1, 40000) n;
INSERT INTO outbox (platform, account, recipient, body, state, sent_at)
    SELECT 'whatsapp', 'account', 'c' || n % 5000, '{}', 'sent', now()
    FROM generate_series(1, 10000) n;
INSERT INTO llm_answers (platform, message_id, outcome, command)
    SELECT 'whatsapp', 'wamid.' || n, 'command', 'list' FROM generate_series(1, 2000) n;";

#[tokio::test]
async fn hot_statements_use_indexes_on_grown_tables() {
    let db = TestDb::create_migrated().await;
    db.connect().await.batch_execute(GROWN).await.unwrap();

    let scans = full_scans(&db, HOT_STATEMENTS, &["inbox", "outbox", "llm_answers"]).await;

    assert!(scans.is_empty(), "full scans:\n\n{}", scans.join("\n\n"));
}

#[tokio::test]
async fn the_stores_connections_plan_each_call() {
    let store = pg().await;
    let client = store.pool().get().await.unwrap();

    let mode: String = client
        .query_one("SHOW plan_cache_mode", &[])
        .await
        .unwrap()
        .get(0);

    assert_eq!(mode, "force_custom_plan");
}
