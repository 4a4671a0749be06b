//! Postgres only: migrations, the rows as stored, and concurrency on the real database.

use alfred_testkit::eventually;

use super::*;

fn embedded_names() -> Vec<String> {
    migrate::embedded()
        .iter()
        .map(|migration| migration.name.to_owned())
        .collect()
}

async fn recorded(store: &PgStore) -> Vec<String> {
    let client = store.pool().get().await.unwrap();
    let rows = client
        .query("SELECT name FROM schema_migrations ORDER BY name", &[])
        .await
        .unwrap();
    rows.iter().map(|row| row.get(0)).collect()
}

#[tokio::test]
async fn migrations_apply_once_and_a_second_run_applies_nothing() {
    let db = TestDb::create().await;
    let store = PgStore::connect(db.url()).unwrap();

    let first = migrate::migrate(store.pool()).await.unwrap();
    let second = migrate::migrate(store.pool()).await.unwrap();

    assert!(first.contains(&"0001_runtime.sql".to_owned()));
    assert_eq!(first, embedded_names());
    assert!(second.is_empty());
    assert_eq!(recorded(&store).await, embedded_names());
    db.drop().await;
}

#[tokio::test]
async fn two_processes_migrating_at_once_both_succeed_and_apply_each_migration_once() {
    let db = TestDb::create().await;
    let (one, two) = (
        PgStore::connect(db.url()).unwrap(),
        PgStore::connect(db.url()).unwrap(),
    );

    let (first, second) = tokio::join!(migrate::migrate(one.pool()), migrate::migrate(two.pool()));

    let mut applied = [first.unwrap(), second.unwrap()].concat();
    applied.sort();
    assert_eq!(applied, embedded_names());
    assert_eq!(recorded(&one).await, embedded_names());
    db.drop().await;
}

#[tokio::test]
async fn a_migration_changed_after_it_was_applied_is_an_error_naming_the_file() {
    let db = TestDb::create().await;
    let store = PgStore::connect(db.url()).unwrap();
    let original = Migration {
        name: "0001_notes.sql",
        sql: "CREATE TABLE notes (id int)",
    };
    migrate::apply(store.pool(), &[original]).await.unwrap();

    let edited = Migration {
        name: "0001_notes.sql",
        sql: "CREATE TABLE notes (id bigint)",
    };
    let error = migrate::apply(store.pool(), &[edited]).await.unwrap_err();

    assert!(error.to_string().contains("0001_notes.sql"), "{error}");
    db.drop().await;
}

#[tokio::test]
async fn a_failing_migration_leaves_no_trace_and_is_applied_once_fixed() {
    let db = TestDb::create().await;
    let store = PgStore::connect(db.url()).unwrap();
    let good = Migration {
        name: "0001_good.sql",
        sql: "CREATE TABLE good (id int)",
    };
    let broken = Migration {
        name: "0002_broken.sql",
        sql: "CREATE TABLE half (id int); SELEC 1;",
    };

    let error = migrate::apply(store.pool(), &[good, broken])
        .await
        .unwrap_err();

    assert!(error.to_string().contains("0002_broken.sql"), "{error}");
    assert_eq!(recorded(&store).await, vec!["0001_good.sql"]);
    let fixed = Migration {
        name: "0002_broken.sql",
        sql: "CREATE TABLE half (id int)",
    };
    assert_eq!(
        migrate::apply(store.pool(), &[good, fixed]).await.unwrap(),
        vec!["0002_broken.sql"]
    );
    db.drop().await;
}

#[tokio::test]
async fn a_commit_and_its_send_results_are_recorded_in_the_inbox_and_outbox_tables() {
    let store = pg().await;
    let client = store.pool().get().await.unwrap();
    let outbox = |id: i64| {
        let client = &client;
        async move {
            client
                .query_one(
                    "SELECT state, attempts, body, published_at IS NOT NULL, next_attempt_at IS NOT NULL, \
                            last_error, provider_id, sent_at IS NOT NULL FROM outbox WHERE id = $1",
                    &[&id],
                )
                .await
                .unwrap()
        }
    };

    let id = done(&*store, "wamid.1", bump()).await[0].outbox_id;

    let inbox = client
        .query("SELECT platform, message_id FROM inbox", &[])
        .await
        .unwrap();
    assert_eq!(
        (inbox[0].get::<_, String>(0), inbox[0].get::<_, String>(1)),
        ("whatsapp".into(), "wamid.1".into())
    );
    let row = outbox(id).await;
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, i32>(1),
            row.get::<_, bool>(3)
        ),
        ("pending".into(), 0, false)
    );
    assert_eq!(
        row.get::<_, serde_json::Value>(2),
        serde_json::json!({"type": "text", "text": "count is 1"})
    );

    store.claim_outbox(id, HOUR).await.unwrap().unwrap();
    let retry = SendResult::Retry {
        error: "HTTP 503".into(),
        next_attempt_in: NOW,
    };
    store.record_send(id, retry).await.unwrap();
    let row = outbox(id).await;
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, i32>(1),
            row.get::<_, bool>(4)
        ),
        ("retry".into(), 1, true)
    );
    assert_eq!(row.get::<_, Option<String>>(5).as_deref(), Some("HTTP 503"));

    store.claim_outbox(id, HOUR).await.unwrap().unwrap();
    store
        .record_send(
            id,
            SendResult::Sent {
                provider_id: Some("wamid.out".into()),
            },
        )
        .await
        .unwrap();
    let row = outbox(id).await;
    assert_eq!(
        (
            row.get::<_, String>(0),
            row.get::<_, i32>(1),
            row.get::<_, bool>(7)
        ),
        ("sent".into(), 2, true)
    );
    assert_eq!(
        row.get::<_, Option<String>>(6).as_deref(),
        Some("wamid.out")
    );
}

#[tokio::test]
async fn two_concurrent_commits_of_one_key_apply_once_in_postgres() {
    let store = pg().await;
    let url = store.db().unwrap().url();

    behaviour::two_concurrent_commits_of_one_key_apply_once(
        &*store,
        a_session_waits_on_a_lock(url),
    )
    .await;
}

/// Returns once a session of the test's database waits on a lock: the second commit's inbox
/// insert waiting for the first transaction.
pub(super) async fn a_session_waits_on_a_lock(url: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let client = &client;
    eventually(
        "the second commit to wait for the first",
        Duration::from_secs(10),
        || async move {
            let waiting: i64 = client
                .query_one(
                    "SELECT count(*) FROM pg_stat_activity \
                     WHERE datname = current_database() AND wait_event_type = 'Lock'",
                    &[],
                )
                .await
                .unwrap()
                .get(0);
            (waiting > 0).then_some(())
        },
    )
    .await;
}

#[tokio::test]
async fn an_unreachable_database_fails_instead_of_hanging() {
    let store = PgStore::connect("postgres://postgres@127.0.0.1:1/alfred").unwrap();

    let error = store.ping().await.unwrap_err();

    assert!(matches!(error, StoreError::Pool(_)), "{error}");
}
