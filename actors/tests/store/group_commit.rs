//! Group commit in `PgStore`: concurrent commits share one transaction, each message inside its
//! own savepoint, and keep exactly the outcome they would have had alone.

use alfred_actors::messages::OutboundBody;

use super::*;

/// The table the effects of these tests record into.
const APPLIED: &str = "CREATE TABLE test_applied (message text NOT NULL, xid bigint NOT NULL)";

/// [`target`], quoting message `id`.
fn quoting(id: &str) -> ReplyTarget {
    ReplyTarget {
        reply_to: Some(id.to_owned()),
        ..target()
    }
}

/// Records its message and the id of the (top-level) transaction it ran in; with `fail` it
/// records and then fails, or runs a statement that errors (aborting the transaction).
struct Record {
    message: String,
    failure: Option<Failure>,
}

#[derive(Clone, Copy)]
enum Failure {
    /// The effect returns an error; the transaction is still usable.
    Returns,
    /// A statement fails inside Postgres; the transaction is aborted up to the savepoint.
    Statement,
}

impl Effect for Record {
    fn apply<'a>(&'a self, tx: &'a mut Tx<'_>) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        Box::pin(async move {
            let Tx::Pg(tx) = tx else {
                panic!("these tests run on Postgres");
            };
            tx.execute(
                "INSERT INTO test_applied VALUES ($1, txid_current())",
                &[&self.message],
            )
            .await?;
            match self.failure {
                None => Ok(vec![Reply::text(format!("done {}", self.message))]),
                Some(Failure::Returns) => Err(StoreError::Other("the effect failed".into())),
                Some(Failure::Statement) => {
                    tx.execute("SELECT 1 / 0", &[]).await?;
                    Ok(vec![Reply::text("unreachable")])
                }
            }
        })
    }
}

fn record(message: &str, failure: Option<Failure>) -> Box<Record> {
    Box::new(Record {
        message: message.to_owned(),
        failure,
    })
}

async fn count(store: &PgStore, sql: &str) -> i64 {
    let client = store.pool().get().await.unwrap();
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn concurrent_commits_share_transactions_and_a_failing_message_takes_down_none_of_the_others()
{
    let store = pg_with(APPLIED).await;
    let earlier = match store
        .commit(key("wamid.earlier"), record("earlier", None), quoting("x"))
        .await
        .unwrap()
    {
        Commit::Done(replies) => replies,
        Commit::Duplicate => panic!("a new key was taken for a duplicate"),
    };
    assert_eq!(earlier.len(), 1);

    // Issued together, so they are queued before any batch runs: 60 messages, every fifth
    // failing one way or the other, a redelivery of an earlier message, and one key twice.
    let mut ids: Vec<String> = (0..60).map(|n| format!("wamid.{n}")).collect();
    ids.push("wamid.earlier".into());
    ids.push("wamid.7".into());
    let failure = |n: usize| match n % 10 {
        4 => Some(Failure::Returns),
        9 => Some(Failure::Statement),
        _ => None,
    };
    let commits = ids.iter().enumerate().map(|(n, id)| {
        let effect = record(id, if n < 60 { failure(n) } else { None });
        store.commit(key(id), effect, quoting(id))
    });
    let outcomes = futures::future::join_all(commits).await;

    for (n, outcome) in outcomes.iter().enumerate().take(60) {
        match (failure(n), outcome) {
            (Some(_), Err(_)) => {}
            (None, Ok(Commit::Done(replies))) => {
                assert_eq!(replies.len(), 1);
                assert_eq!(replies[0].reply_to.as_deref(), Some(ids[n].as_str()));
                assert_eq!(
                    replies[0].body,
                    OutboundBody::Text {
                        text: format!("done {}", ids[n])
                    }
                );
            }
            (expected, outcome) => panic!(
                "message {n}: expected failure {:?}, got {outcome:?}",
                expected.is_some()
            ),
        }
    }
    assert!(matches!(outcomes[60], Ok(Commit::Duplicate)));
    assert!(
        matches!(outcomes[61], Ok(Commit::Duplicate)),
        "the second copy of a key in one batch is a duplicate"
    );

    let succeeded = 1 + 60 - 12;
    assert_eq!(count(&store, "SELECT count(*) FROM inbox").await, succeeded);
    assert_eq!(
        count(&store, "SELECT count(*) FROM outbox").await,
        succeeded
    );
    assert_eq!(
        count(&store, "SELECT count(*) FROM test_applied").await,
        succeeded,
        "failed messages left nothing behind"
    );
    let transactions = count(
        &store,
        "SELECT count(DISTINCT xid) FROM test_applied WHERE message <> 'wamid.earlier'",
    )
    .await;
    assert!(
        transactions < succeeded - 1,
        "{} messages were committed in {transactions} transactions",
        succeeded - 1
    );
}

#[tokio::test]
async fn a_failed_message_can_be_committed_again_later() {
    let store = pg_with(APPLIED).await;
    let failed = store
        .commit(
            key("wamid.1"),
            record("wamid.1", Some(Failure::Statement)),
            quoting("wamid.1"),
        )
        .await;
    assert!(failed.is_err());

    let retried = store
        .commit(key("wamid.1"), record("wamid.1", None), quoting("wamid.1"))
        .await
        .unwrap();

    assert!(matches!(retried, Commit::Done(replies) if replies.len() == 1));
    assert_eq!(count(&store, "SELECT count(*) FROM test_applied").await, 1);
}

#[tokio::test]
async fn marking_rows_published_does_not_wait_for_a_row_another_session_holds() {
    let store = pg_with(APPLIED).await;
    let mut ids = Vec::new();
    for n in 0..2 {
        let id = format!("wamid.{n}");
        match store
            .commit(key(&id), record(&id, None), quoting(&id))
            .await
            .unwrap()
        {
            Commit::Done(replies) => ids.push(replies[0].outbox_id),
            Commit::Duplicate => panic!("a new key was taken for a duplicate"),
        }
    }
    let mut holder = store.pool().get().await.unwrap();
    let holding = holder.transaction().await.unwrap();
    holding
        .execute("SELECT 1 FROM outbox WHERE id = $1 FOR UPDATE", &[&ids[0]])
        .await
        .unwrap();

    // Waiting for the lock would hang until the holder commits, which it does only after.
    tokio::time::timeout(Duration::from_secs(30), store.mark_published(&ids))
        .await
        .expect("mark_published waited for a locked row")
        .unwrap();
    holding.commit().await.unwrap();

    assert_eq!(
        count(
            &store,
            "SELECT count(*) FROM outbox WHERE published_at IS NOT NULL"
        )
        .await,
        1,
        "the free row was marked, the held one skipped"
    );
}
