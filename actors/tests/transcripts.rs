//! Voice notes' transcripts kept with their messages ([`Store::transcript`],
//! [`Store::keep_transcript`]), on both stores: `mem::…` in memory, `pg::…` on a fresh database
//! with every migration.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_actors::messages::Platform;
use alfred_actors::skill::{Effect, Reply};
use alfred_actors::store::{MemStore, PgStore, Store, StoreError, Tx};
use alfred_actors::voice::MAX_TRANSCRIPT_CHARS;
use alfred_testkit::db::TestDb;
use alfred_testkit::stores::Backend;
use alfred_testkit::stores::{whatsapp_inbox_key as key, whatsapp_reply_target as target};
use futures::future::BoxFuture;

async fn pg() -> Backend<PgStore> {
    let db = TestDb::create_migrated().await;
    let store = PgStore::connect(db.url()).unwrap();
    Backend::on_postgres(store, db)
}

/// An effect that fails, as a skill's state change that hit a deadlock would.
struct Fails;

impl Effect for Fails {
    fn apply<'a>(&'a self, _tx: &'a mut Tx<'_>) -> BoxFuture<'a, Result<Vec<Reply>, StoreError>> {
        Box::pin(async { Err(StoreError::Other("deadlock detected".to_owned())) })
    }
}

mod behaviour {
    use super::*;

    pub async fn a_kept_transcript_survives_a_failed_commit_and_the_first_one_stays(
        store: &mut impl Store,
    ) {
        let whatsapp = Platform::WhatsApp;
        assert_eq!(store.transcript(whatsapp, "wamid.1").await.unwrap(), None);

        store
            .keep_transcript(whatsapp, "wamid.1", "add milk")
            .await
            .unwrap();
        let failed = store
            .commit(key("wamid.1"), Box::new(Fails), target())
            .await;
        store
            .keep_transcript(whatsapp, "wamid.1", "add silk")
            .await
            .unwrap();

        assert!(failed.is_err());
        assert_eq!(
            store.transcript(whatsapp, "wamid.1").await.unwrap(),
            Some("add milk".to_owned()),
            "the redelivery finds the first transcript"
        );
        assert_eq!(
            store.transcript(Platform::Slack, "wamid.1").await.unwrap(),
            None,
            "keyed by platform too"
        );
    }

    pub async fn a_transcript_is_kept_bounded(store: &mut impl Store) {
        let long = "milk ".repeat(MAX_TRANSCRIPT_CHARS);
        store
            .keep_transcript(Platform::WhatsApp, "wamid.2", &long)
            .await
            .unwrap();

        let kept = store
            .transcript(Platform::WhatsApp, "wamid.2")
            .await
            .unwrap()
            .unwrap();
        assert!(
            kept.chars().count() <= MAX_TRANSCRIPT_CHARS,
            "{}",
            kept.len()
        );
        assert!(kept.starts_with("milk milk"));
    }

    pub async fn purge_forgets_transcripts_kept_before_the_cutoff(store: &mut impl Store) {
        store
            .keep_transcript(Platform::WhatsApp, "wamid.3", "add milk")
            .await
            .unwrap();
        let hour = chrono::Duration::hours(1);

        let early = store.purge(chrono::Utc::now() - hour).await.unwrap();
        assert_eq!(early.transcripts, 0);
        assert!(store
            .transcript(Platform::WhatsApp, "wamid.3")
            .await
            .unwrap()
            .is_some());

        let later = store.purge(chrono::Utc::now() + hour).await.unwrap();
        assert_eq!(later.transcripts, 1);
        assert_eq!(
            store
                .transcript(Platform::WhatsApp, "wamid.3")
                .await
                .unwrap(),
            None
        );
    }
}

alfred_testkit::for_both_stores! {
    in_memory: Backend::in_memory(MemStore::new()),
    on_postgres: pg().await,
    scenarios: behaviour::[
        a_kept_transcript_survives_a_failed_commit_and_the_first_one_stays,
        a_transcript_is_kept_bounded,
        purge_forgets_transcripts_kept_before_the_cutoff,
    ],
}
