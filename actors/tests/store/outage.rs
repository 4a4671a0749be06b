//! Postgres outages, on a private cluster the test stops: an unreachable store says so
//! ([`StoreError::is_unavailable`]), a failed statement does not, and the store recovers by
//! itself once Postgres is back.

use alfred_actors::store::postgres::PgOptions;
use alfred_testkit::eventually;
use alfred_testkit::postgres::PrivatePostgres;

use super::*;

/// An effect whose statement fails: the store is fine, the statement is not.
struct BadStatement;

impl Effect for BadStatement {
    fn apply<'a>(
        &'a self,
        tx: &'a mut Tx<'_>,
    ) -> BoxFuture<'a, Result<Vec<alfred_actors::skill::Reply>, StoreError>> {
        Box::pin(async move {
            if let Tx::Pg(tx) = tx {
                tx.execute("SELECT * FROM no_such_table", &[]).await?;
            }
            Ok(Vec::new())
        })
    }
}

#[tokio::test]
async fn a_stopped_postgres_makes_the_store_unavailable_until_it_is_back_while_a_failed_statement_does_not(
) {
    let mut server = PrivatePostgres::start();
    let db = TestDb::create_on(&server.url()).await;
    let options = PgOptions {
        max_connections: 4,
        connect_timeout: Duration::from_secs(2),
        wait_timeout: Duration::from_secs(2),
    };
    let store = PgStore::connect_with(db.url(), options).unwrap();
    migrate::migrate(store.pool()).await.unwrap();
    execute(&store, COUNTER).await;
    done(&store, "before", bump()).await;

    let failed = store
        .commit(key("bad"), Box::new(BadStatement), target())
        .await
        .unwrap_err();
    assert!(!failed.is_unavailable(), "{failed}");

    server.stop();
    let down = store
        .commit(key("during"), bump(), target())
        .await
        .unwrap_err();
    assert!(down.is_unavailable(), "{down}");
    let ping = store.ping().await.unwrap_err();
    assert!(ping.is_unavailable(), "{ping}");

    server.start_again();
    let store = &store;
    let replies = eventually(
        "the store to recover",
        Duration::from_secs(20),
        || async move {
            match store.commit(key("during"), bump(), target()).await {
                Ok(Commit::Done(replies)) => Some(replies),
                Ok(Commit::Duplicate) => panic!("the failed commit left an inbox mark"),
                Err(_) => None,
            }
        },
    )
    .await;
    assert_eq!(text(&replies[0]), "count is 2");
}
