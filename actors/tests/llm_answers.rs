//! The LLM's answers kept with their messages and the look-up before asking
//! ([`Store::prior`], [`Store::keep_llm_answer`]), on both stores: `mem::…` in memory, `pg::…`
//! on a fresh database with every migration.
// Helpers here are not `#[test]` functions, which clippy.toml lets unwrap; in a helper too a
// failed unwrap or expect only fails the test that called it, with its message.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alfred_actors::messages::Platform;
use alfred_actors::skill::{Effect, Reply, ReplyOnly};
use alfred_actors::store::{Commit, LlmAnswer, MemStore, PgStore, Prior, Store, StoreError, Tx};
use alfred_testkit::db::TestDb;
use alfred_testkit::stores::Backend;
use alfred_testkit::stores::{whatsapp_inbox_key as key, whatsapp_reply_target as target};
use futures::future::BoxFuture;

async fn pg() -> Backend<PgStore> {
    let db = TestDb::create_migrated().await;
    let store = PgStore::connect(db.url()).unwrap();
    Backend::on_postgres(store, db)
}

fn accepted(command: &str) -> LlmAnswer {
    LlmAnswer {
        outcome: "accepted".to_owned(),
        command: Some(command.to_owned()),
    }
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

    pub async fn a_kept_answer_survives_a_failed_commit_and_is_gone_once_handled(
        store: &mut impl Store,
    ) {
        let whatsapp = Platform::WhatsApp;
        assert_eq!(store.prior(whatsapp, "wamid.1").await.unwrap(), Prior::New);

        store
            .keep_llm_answer(whatsapp, "wamid.1", &accepted("add 2 kg apples"))
            .await
            .unwrap();
        let failed = store
            .commit(key("wamid.1"), Box::new(Fails), target())
            .await;

        assert!(failed.is_err());
        assert_eq!(
            store.prior(whatsapp, "wamid.1").await.unwrap(),
            Prior::Interpreted(accepted("add 2 kg apples")),
            "the redelivery finds the answer"
        );
        assert_eq!(
            store.prior(Platform::Slack, "wamid.1").await.unwrap(),
            Prior::New,
            "keyed by platform too"
        );
        let effect = Box::new(ReplyOnly(vec!["Added 2 kg apples.".to_owned()]));
        let done = store.commit(key("wamid.1"), effect, target()).await;
        assert!(matches!(done, Ok(Commit::Done(_))));
        assert_eq!(
            store.prior(whatsapp, "wamid.1").await.unwrap(),
            Prior::Handled
        );
    }

    pub async fn the_first_answer_kept_stays(store: &mut impl Store) {
        let none = LlmAnswer {
            outcome: "no_call".to_owned(),
            command: None,
        };
        store
            .keep_llm_answer(Platform::WhatsApp, "wamid.2", &none)
            .await
            .unwrap();
        store
            .keep_llm_answer(Platform::WhatsApp, "wamid.2", &accepted("add milk"))
            .await
            .unwrap();

        assert_eq!(
            store.prior(Platform::WhatsApp, "wamid.2").await.unwrap(),
            Prior::Interpreted(none)
        );
    }

    /// Look-ups asked at the same moment (which the Postgres store answers with one statement)
    /// each get their own key's answer, in order.
    pub async fn look_ups_asked_together_each_get_their_own_answer(store: &mut impl Store) {
        let whatsapp = Platform::WhatsApp;
        let effect = Box::new(ReplyOnly(vec!["Done.".to_owned()]));
        let done = store.commit(key("wamid.h"), effect, target()).await;
        assert!(matches!(done, Ok(Commit::Done(_))));
        store
            .keep_llm_answer(whatsapp, "wamid.i", &accepted("add eggs"))
            .await
            .unwrap();

        let asked = [
            (whatsapp, "wamid.n"),
            (whatsapp, "wamid.h"),
            (whatsapp, "wamid.i"),
            (Platform::Slack, "wamid.h"),
            (whatsapp, "wamid.h"),
            (whatsapp, "wamid.i"),
        ];
        let store = &*store;
        let priors = futures::future::join_all(
            asked
                .iter()
                .map(|(platform, id)| async move { store.prior(*platform, id).await.unwrap() }),
        )
        .await;

        let interpreted = Prior::Interpreted(accepted("add eggs"));
        assert_eq!(
            priors,
            vec![
                Prior::New,
                Prior::Handled,
                interpreted.clone(),
                Prior::New,
                Prior::Handled,
                interpreted,
            ]
        );
    }

    pub async fn purge_forgets_answers_kept_before_the_cutoff(store: &mut impl Store) {
        store
            .keep_llm_answer(Platform::WhatsApp, "wamid.3", &accepted("add milk"))
            .await
            .unwrap();
        let hour = chrono::Duration::hours(1);

        let early = store.purge(chrono::Utc::now() - hour).await.unwrap();
        assert_eq!(early.llm_answers, 0);
        assert!(matches!(
            store.prior(Platform::WhatsApp, "wamid.3").await.unwrap(),
            Prior::Interpreted(_)
        ));

        let later = store.purge(chrono::Utc::now() + hour).await.unwrap();
        assert_eq!(later.llm_answers, 1);
        assert_eq!(
            store.prior(Platform::WhatsApp, "wamid.3").await.unwrap(),
            Prior::New
        );
    }
}

alfred_testkit::for_both_stores! {
    in_memory: Backend::in_memory(MemStore::new()),
    on_postgres: pg().await,
    scenarios: behaviour::[
        a_kept_answer_survives_a_failed_commit_and_is_gone_once_handled,
        the_first_answer_kept_stays,
        look_ups_asked_together_each_get_their_own_answer,
        purge_forgets_answers_kept_before_the_cutoff,
    ],
}
